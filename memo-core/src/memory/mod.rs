//! The stores in the process: [`Unbounded`](unbounded::Unbounded) (the
//! default), [`Lru`](lru::Lru) (`maxsize = N`), and [`Tiered`](tiered::Tiered),
//! a near store in front of a far one. The first two keep their entries in
//! `parts` and their single-flight claims beside them (`flight::Claims`).

pub(crate) mod books;
pub(crate) mod lru;
pub(crate) mod tiered;
pub(crate) mod unbounded;
