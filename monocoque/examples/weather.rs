//! Publish/subscribe: a weather station publishes "zipcode temperature humidity" updates for
//! many zip codes; a subscriber asks only for one zip code and averages the temperatures it gets.
//!
//! Filtering happens at the publisher: the SUB socket sends its subscription (a prefix of the
//! first frame) upstream and the PUB socket only sends matching messages. PUB never waits and
//! drops what nobody subscribed to, so updates published before the subscription arrived are
//! simply lost; the publisher therefore keeps publishing until the subscriber says it is done.
//!
//! Run with `cargo run -p monocoque --example weather`.

use monocoque::{PubSocket, SocketOption, SubSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How many updates the subscriber averages.
const UPDATES: usize = 50;
/// The zip code it cares about; the trailing space keeps "10001" from matching "100012".
const ZIP_FILTER: &str = "10001 ";

/// A tiny xorshift generator: plenty random for fake weather, and no extra dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::main]
async fn main() -> monocoque::Result<()> {
    let ctx = monocoque::tokio::context();

    let mut publisher = PubSocket::new(&ctx);
    // Updates still queued when we stop are stale anyway: do not linger over them at close.
    publisher.set_option(SocketOption::Linger(Some(Duration::ZERO)))?;
    let endpoint = publisher.bind("tcp://127.0.0.1:*").await?;
    println!("weather station publishing on {endpoint}");

    let done = Arc::new(AtomicBool::new(false));
    let publishing = tokio::spawn({
        let done = done.clone();
        async move {
            let mut rng = Rng(0x2545_f491_4f6c_dd1d);
            let mut published = 0u64;
            while !done.load(Ordering::Relaxed) {
                // Few zip codes, so the subscriber's one comes up often enough.
                let zipcode = 10000 + rng.below(20);
                let temperature = rng.below(70) as i64 - 20;
                let humidity = 10 + rng.below(50);
                publisher
                    .send(format!("{zipcode:05} {temperature} {humidity}"))
                    .await?;
                published += 1;
                // PUB never blocks, so pace the loop and let other tasks run.
                if published % 20 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            publisher.close().await;
            Ok::<_, monocoque::Error>(published)
        }
    });

    let mut subscriber = SubSocket::new(&ctx);
    subscriber.set_option(SocketOption::RcvTimeo(Some(Duration::from_secs(5))))?;
    subscriber.connect(&endpoint).await?;
    subscriber.subscribe(ZIP_FILTER)?;
    println!(
        "subscriber: collecting {UPDATES} updates for zip code {}",
        ZIP_FILTER.trim()
    );

    let mut total_temperature = 0i64;
    for n in 1..=UPDATES {
        let update = subscriber.recv().await?;
        let text = String::from_utf8_lossy(&update.frames()[0]).into_owned();
        let mut fields = text.split_whitespace();
        let (Some(zipcode), Some(temperature)) = (fields.next(), fields.next()) else {
            panic!("malformed update {text:?}");
        };
        assert_eq!(
            zipcode,
            ZIP_FILTER.trim(),
            "the filter let through {text:?}"
        );
        total_temperature += temperature.parse::<i64>().expect("temperature is a number");
        if n <= 3 || n == UPDATES {
            println!("subscriber: update {n}: {text}");
        }
    }
    done.store(true, Ordering::Relaxed);
    subscriber.close().await;

    let published = tokio::time::timeout(Duration::from_secs(5), publishing)
        .await
        .expect("publisher stopped in time")
        .expect("publisher task did not panic")?;
    println!(
        "average temperature for zip code {} was {:.1} degrees ({UPDATES} updates; {published} published for all zip codes)",
        ZIP_FILTER.trim(),
        total_temperature as f64 / UPDATES as f64
    );
    Ok(())
}
