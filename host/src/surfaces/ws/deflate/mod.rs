//! `permessage-deflate` (RFC 7692): which offers are accepted ([`negotiation`]) and the
//! inflating of what clients send ([`inflate`]). The compressing of what the server
//! sends is done once per tick for every client, next to the framing
//! ([`crate::pipeline::framed::Framed::deflated`]), with no context takeover, so every
//! client that negotiated the extension gets the same compressed bytes; replies to one
//! client go uncompressed, which the extension allows (RSV1 clear).

pub mod inflate;
pub mod negotiation;
