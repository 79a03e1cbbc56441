//! One module per subcommand: its arguments and how it runs.

pub mod analyze;
pub mod inputs;
pub mod layout;
pub mod schema;
