//! Integrating a relay with `ServerClient` (docs/api.md, *Integrating a relay*): a sender seals a
//! message, the relay has the report server stamp it and forwards the delivered message (the
//! envelope, the context and the stamp), and the recipient opens it.
//!
//! ```text
//! FRANKING_TOKEN=<relay token of network dev> cargo run -p client-sdk --example relay -- http://127.0.0.1:8080
//! ```
//!
//! Prints the delivered message's JSON (what the relay sends each recipient) and the opened text.

use client_sdk::frank::{Context, SessionKey};
use client_sdk::server::ServerClient;
use client_sdk::{Conversation, MessageContent, OpenChecks, StampedEnvelope, now_ms};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server_url = std::env::args()
        .nth(1)
        .ok_or("usage: relay SERVER_URL (relay token in FRANKING_TOKEN)")?;
    let relay_token = std::env::var("FRANKING_TOKEN").map_err(|_| "set FRANKING_TOKEN")?;

    // Alice and Bob's clients share the session key of their E2E conversation.
    let conversation = Conversation::new("c1", SessionKey::generate()?);
    let envelope = conversation.seal(&MessageContent::text("hi bob"))?;

    // The relay: it authenticated alice, knows the recipients and the time it received the
    // message, and sends the server only the suite, the commitment and this context.
    let relay = ServerClient::new(&server_url, &relay_token)?;
    let context = Context::new("dev", "alice", None, vec!["bob".into()], now_ms(), "m4")?;
    let delivered: StampedEnvelope = relay.stamp(envelope, context)?; // what the recipient opens
    let json = serde_json::to_string(&delivered)?; // send this to each recipient
    println!("{json}");

    // Bob's client.
    let received = StampedEnvelope::from_json(json.as_bytes())?;
    let opened = conversation.open(&received, &OpenChecks::recipient("bob").sender("alice"))?;
    println!("{}", opened.content().text);
    Ok(())
}
