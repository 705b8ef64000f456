//! The conformance kit's tests, one binary: the reference servers pass every
//! check (in process and through the binary over sockets), and mutants that
//! each break one rule are caught.

mod kit {
    pub mod common;
    mod live;
    pub mod mutants;
    mod servers;
}
