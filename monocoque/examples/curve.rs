//! CURVE: an encrypted, authenticated PUSH/PULL pair with generated keys.
//!
//! The server (PULL) proves it holds its secret key; the client (PUSH) proves it holds its own
//! and is let in by the context's ZAP handler only because its public key is on the list.
//!
//! Run with `cargo run -p monocoque --example curve`.

use monocoque::{Authenticator, KeyPair, Message, PullSocket, PushSocket, SocketOption};

#[tokio::main]
async fn main() -> monocoque::Result<()> {
    let server_keys = KeyPair::generate();
    let client_keys = KeyPair::generate();

    // The server's context authenticates clients: only this public key may connect.
    let ctx = monocoque::tokio::context()
        .with_zap_handler(Authenticator::new().curve_key(client_keys.public));

    let mut pull = PullSocket::new(&ctx);
    pull.set_option(SocketOption::CurveSecretKey(server_keys.secret.clone()))?;
    pull.set_option(SocketOption::CurveServer(true))?;
    let endpoint = pull.bind("tcp://127.0.0.1:*").await?;

    let mut push = PushSocket::new(&ctx);
    push.set_option(SocketOption::CurvePublicKey(client_keys.public))?;
    push.set_option(SocketOption::CurveSecretKey(client_keys.secret.clone()))?;
    push.set_option(SocketOption::CurveServerKey(server_keys.public))?;
    push.connect(&endpoint).await?;

    push.send(Message::from("sealed")).await?;
    let msg = tokio::time::timeout(std::time::Duration::from_secs(5), pull.recv())
        .await
        .map_err(|_| monocoque::Error::Timeout)??;
    println!(
        "received {:?} from the client whose public key is {}",
        msg.frames(),
        client_keys.public
    );
    Ok(())
}
