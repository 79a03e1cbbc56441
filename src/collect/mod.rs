//! `bpfcase collect`: the privileged half, run on the live node. Shares only
//! the bundle format and the model types with the rest of the crate.
