//! What every shared store's servers have: the timeouts of their
//! operations.

use std::time::Duration;

/// How long network operations may take.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct Timeouts {
    /// Each operation, the whole request: from its first byte sent to its
    /// last byte read, however slowly the server answers.
    pub(crate) op: Duration,
    /// Each connect.
    pub(crate) connect: Duration,
    /// How long a server that failed is left alone.
    pub(crate) retry_after: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            op: Duration::from_millis(50),
            connect: Duration::from_millis(50),
            retry_after: Duration::from_secs(1),
        }
    }
}
