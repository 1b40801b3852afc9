//! TCP: [`TcpListener`], [`TcpStream`] and its halves, and the [`TcpSocket`] builder.
//!
//! The reads, writes and halves of [`TcpStream`] are the shared stream layer's
//! (`crate::stream`); what is here is TCP's own: connecting, accepting, the options.

mod listener;
mod socket;
mod stream;

pub use crate::stream::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use listener::{Incoming, TcpListener};
pub use socket::TcpSocket;
pub use stream::TcpStream;
