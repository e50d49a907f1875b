//! The README's quick start: PUSH to PULL over tcp on tokio.
//!
//! Run with `cargo run -p monocoque --example quickstart`.

use monocoque::{Message, PullSocket, PushSocket};

#[tokio::main]
async fn main() -> monocoque::Result<()> {
    let ctx = monocoque::tokio::context();

    let mut pull = PullSocket::new(&ctx);
    let endpoint = pull.bind("tcp://127.0.0.1:*").await?; // port picked for us
    println!("bound {endpoint}");

    let mut push = PushSocket::new(&ctx);
    push.connect(&endpoint).await?; // returns at once; connects (and reconnects) in the background
    push.send(Message::builder().frame("hello").frame("world").build())
        .await?;

    let msg = pull.recv().await?;
    assert_eq!(msg.frames(), ["hello", "world"]);
    println!("received {msg:?}");
    Ok(())
}
