//! The accept path: taking and guarding connections before any surface sees them.
//!
//! The accept loop ([`server`]) serves one port for HTTP and WebSocket, TLS first when
//! configured ([`tls`]); it counts and caps connections in all and per address
//! ([`admission`]), gives hyper's own answers to unparseable requests JSON bodies
//! ([`parse_errors`]), and cuts a connection whose reader stops taking a long reply
//! ([`write_watch`]). [`service_memory`] samples the server's own resource use, which
//! is what many connections cost.
//!
//! This room knows no surface: [`server::serve`] takes the routes as an argument, so
//! the surfaces import what they need from here (the peer address, the admission
//! slots, the write watch) and nothing here imports them.

pub mod admission;
pub mod parse_errors;
pub mod server;
pub mod service_memory;
pub mod tls;
pub mod write_watch;
