//! What ends a command early, and its exit code.

use std::fmt;
use std::process::ExitCode;

/// Why a command failed; decides the exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad arguments or input that cannot be read (exit 2).
    Usage(String),
    /// Missing or rejected configuration: keys, site UUID (exit 3).
    Config(String),
    /// The operation failed (exit 1).
    Failed(String),
}

impl Failure {
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Failed(_) => ExitCode::from(1),
            Failure::Usage(_) => ExitCode::from(2),
            Failure::Config(_) => ExitCode::from(3),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Config(m) | Failure::Failed(m) => f.write_str(m),
        }
    }
}

impl From<bento_core::Error> for Failure {
    fn from(error: bento_core::Error) -> Self {
        let auth = matches!(error.status().map(|s| s.as_u16()), Some(401 | 403));
        if auth || matches!(error, bento_core::Error::Config(_)) {
            Failure::Config(error.to_string())
        } else {
            Failure::Failed(error.to_string())
        }
    }
}

impl From<bento_core::ConfigError> for Failure {
    fn from(error: bento_core::ConfigError) -> Self {
        Failure::Config(error.to_string())
    }
}
