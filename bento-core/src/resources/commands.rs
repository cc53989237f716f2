//! Subscriber commands: `POST /fetch/commands`.
//!
//! Commands change one subscriber without triggering automations, except
//! [`Command::AddTagViaEvent`], which records an event and so does.

pub use crate::model::commands::*;

use serde::Serialize;

use crate::client::Client;
use crate::error::{Error, truncate_body};
use crate::transport::ApiRequest;
use crate::validate;

#[derive(Serialize)]
struct CommandsBody<'a> {
    command: &'a [Command],
}

impl Client {
    /// Runs subscriber commands in one request.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// use bento_core::Command;
    /// client.run_commands(&[
    ///     Command::AddTag { email: "ada@example.com".into(), tag: "customer".into() },
    ///     Command::Subscribe { email: "ada@example.com".into() },
    /// ]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn run_commands(&self, commands: &[Command]) -> Result<CommandResult, Error> {
        validate::non_empty_batch("commands", commands)?;
        let check_erased = self.erasures_active();
        let mut encoded = Vec::new();
        for (index, command) in commands.iter().enumerate() {
            command.validate(&format!("command[{index}]"))?;
            if self.inner.plan.is_none() && !check_erased {
                continue;
            }
            let json = serde_json::to_vec(command).map_err(|error| {
                crate::ValidationError::Unserializable {
                    field: format!("command[{index}]"),
                    message: error.to_string(),
                }
            })?;
            if self.inner.plan.is_some() {
                self.check_plan(crate::delivery::ItemKind::Command, &json, || {
                    format!("command[{index}]")
                })?;
            }
            if check_erased {
                encoded.push(json);
            }
        }
        self.refuse_erased(encoded.iter().map(Vec::as_slice))?;
        let request =
            ApiRequest::post("fetch/commands").json(&CommandsBody { command: commands })?;
        let body = self.call_raw(request).await?;
        CommandResult::decode(&body).map_err(|source| Error::Decode {
            endpoint: "fetch/commands".to_owned(),
            body: truncate_body(&body),
            source,
        })
    }

    /// Runs one subscriber command.
    ///
    /// ```no_run
    /// # async fn run(client: bento_core::Client) -> Result<(), bento_core::Error> {
    /// use bento_core::Command;
    ///
    /// client
    ///     .run_command(Command::AddTag { email: "ada@example.com".into(), tag: "vip".into() })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn run_command(&self, command: Command) -> Result<CommandResult, Error> {
        self.run_commands(std::slice::from_ref(&command)).await
    }
}
