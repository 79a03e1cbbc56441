//! The engine's errors: typed, each naming its input (and the byte offset
//! or line where one is known). The command layer turns them into miette
//! reports at its edge; a library user matches on them.

use crate::error::InputError;

/// Why the engine could not produce its result at all (a finding records
/// what went wrong with one artifact; this is for the whole run).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EngineError {
    /// An input that the run needs could not be read, or does not hold
    /// what the options ask for (an unknown type or map, a bad bundle).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Input(#[from] InputError),
    /// The inputs were read but leave nothing to run on (no bundle found,
    /// none of the bundles readable).
    #[error("{message}")]
    #[diagnostic(code(bpfcase::nothing_to_analyze))]
    Nothing {
        message: String,
        #[help]
        help: Option<String>,
    },
    /// The options do not fit the inputs given (a bundle where a dump
    /// file is expected, a dump without the types it needs): bad usage,
    /// with what to give instead.
    #[error("{message}")]
    #[diagnostic(code(bpfcase::usage))]
    Usage {
        message: String,
        #[help]
        help: String,
    },
    /// The run could not be made, for the reason said (a bundle with no
    /// snapshots to compare, none of a fleet's bundles readable, a worker
    /// that stopped); no code of its own.
    #[error("{0}")]
    Failed(String),
}

/// The engine's result.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    /// Nothing to run on, and why.
    pub fn nothing(message: impl Into<String>) -> Self {
        EngineError::Nothing {
            message: message.into(),
            help: None,
        }
    }

    /// Bad usage, and what to give instead.
    pub fn usage(message: impl Into<String>, help: impl Into<String>) -> Self {
        EngineError::Usage {
            message: message.into(),
            help: help.into(),
        }
    }
}
