//! One module per subcommand: its arguments and how it runs.

pub mod analyze;
pub mod collect;
pub mod completions;
pub mod decode;
pub mod diff;
pub mod fleet;
pub mod layout;
pub mod output;
pub mod schema;
pub mod watch;
