//! The everyday commands: one API call each, a table or JSON out.

use std::process::ExitCode;

use bento_core::{Client, Command as BentoCommand, Email, Event};
use serde_json::{Value, json};

use crate::failure::Failure;
use crate::output::Output;
use crate::{
    BroadcastsCommand, Command, EmailCommand, FieldsCommand, SegmentsCommand, SubscriberCommand,
    TagsCommand,
};

pub(crate) async fn run(
    client: &Client,
    out: &Output,
    command: Command,
) -> Result<ExitCode, Failure> {
    match command {
        Command::Track {
            event_type,
            email,
            fields,
            details,
        } => {
            let mut event = Event::new(&event_type, &email);
            for (key, value) in fields {
                event = event.field(key, value);
            }
            for (key, value) in details {
                event = event.detail(key, value);
            }
            client.track_now(&event).await?;
            out.done(
                &format!("tracked {event_type} for {email}"),
                json!({"tracked": event_type, "email": email}),
            );
        }
        Command::Subscriber(command) => subscriber(client, out, command).await?,
        Command::Tags(TagsCommand::List) => {
            let tags = client.tags().await?;
            let json: Vec<Value> = tags
                .iter()
                .map(|t| json!({"id": t.id, "name": t.name, "created_at": t.created_at}))
                .collect();
            let rows = tags
                .into_iter()
                .map(|t| vec![t.id, t.name, t.created_at.unwrap_or_default()])
                .collect();
            out.table(&["id", "name", "created"], rows, Value::from(json));
        }
        Command::Tags(TagsCommand::Create { name }) => {
            let tag = client.create_tag(&name).await?;
            out.done(
                &format!("created tag {} ({})", tag.name, tag.id),
                json!({"id": tag.id, "name": tag.name}),
            );
        }
        Command::Tags(TagsCommand::Delete { tag }) => {
            // Bento finds the tag by name; the path takes its id.
            let tags = client.tags().await?;
            let found = tags
                .iter()
                .find(|t| t.name == tag || t.id == tag)
                .ok_or_else(|| {
                    Failure::Failed(format!("no tag named `{tag}` (or with that id)"))
                })?;
            let message = client.delete_tag(&found.id, &found.name).await?;
            out.done(
                &format!("tag {} ({}): {message}", found.name, found.id),
                json!({"id": found.id, "name": found.name, "message": message}),
            );
        }
        Command::Fields(FieldsCommand::List) => {
            let fields = client.fields().await?;
            let json: Vec<Value> = fields
                .iter()
                .map(|f| json!({"id": f.id, "key": f.key, "name": f.name}))
                .collect();
            let rows = fields
                .into_iter()
                .map(|f| vec![f.id, f.key, f.name])
                .collect();
            out.table(&["id", "key", "name"], rows, Value::from(json));
        }
        Command::Fields(FieldsCommand::Create { key }) => {
            let field = client.create_field(&key).await?;
            out.done(
                &format!("created field {} ({})", field.key, field.id),
                json!({"id": field.id, "key": field.key}),
            );
        }
        Command::Segments(SegmentsCommand::List) => {
            let segments = client.segments().await?;
            let json: Vec<Value> = segments
                .iter()
                .map(|s| json!({"id": s.id, "name": s.name, "description": s.description}))
                .collect();
            let rows = segments
                .into_iter()
                .map(|s| vec![s.id, s.name, s.description.unwrap_or_default()])
                .collect();
            out.table(&["id", "name", "description"], rows, Value::from(json));
        }
        Command::Segments(SegmentsCommand::Match { id, email }) => {
            let matched = client.segment_matches(&id, &email).await?;
            out.done(
                &format!(
                    "{email} {} segment {id}",
                    if matched { "is in" } else { "is not in" }
                ),
                json!({"segment_id": id, "email": email, "match": matched}),
            );
            if !matched {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Broadcasts(BroadcastsCommand::List) => {
            let broadcasts = client.broadcasts().await?;
            let json: Vec<Value> = broadcasts
                .iter()
                .map(|b| json!({"id": b.id, "name": b.name, "created_at": b.created_at, "send_at": b.send_at}))
                .collect();
            let rows = broadcasts
                .into_iter()
                .map(|b| {
                    vec![
                        b.id,
                        b.name,
                        b.created_at.unwrap_or_default(),
                        b.send_at.unwrap_or_default(),
                    ]
                })
                .collect();
            out.table(
                &["id", "name", "created", "send at"],
                rows,
                Value::from(json),
            );
        }
        Command::Stats => {
            let stats = client.site_stats().await?;
            out.table(
                &["subscribers", "unsubscribers", "users"],
                vec![vec![
                    stats.subscriber_count.to_string(),
                    stats.unsubscriber_count.to_string(),
                    stats.user_count.to_string(),
                ]],
                json!({
                    "subscriber_count": stats.subscriber_count,
                    "unsubscriber_count": stats.unsubscriber_count,
                    "user_count": stats.user_count,
                }),
            );
        }
        Command::Email(EmailCommand::Send {
            from,
            to,
            subject,
            html_file,
        }) => {
            let html = std::fs::read_to_string(&html_file)
                .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", html_file.display())))?;
            let email = Email::to(&to).from(&from).subject(&subject).html(html);
            let result = client.send_email(&email).await?;
            out.done(
                &format!("sent \"{subject}\" to {to}"),
                json!({"sent": result.results, "to": to}),
            );
        }
        other => {
            return Err(Failure::Usage(format!("{other:?} needs no client")));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn subscriber(
    client: &Client,
    out: &Output,
    command: SubscriberCommand,
) -> Result<(), Failure> {
    let command = match command {
        SubscriberCommand::Get { email } => {
            let Some(found) = client.find_subscriber(&email).await? else {
                return Err(Failure::Failed(format!("no subscriber {email}")));
            };
            let state = if found.unsubscribed_at.is_some() {
                "unsubscribed"
            } else {
                "subscribed"
            };
            let mut rows = vec![
                vec!["email".into(), found.email.clone()],
                vec!["uuid".into(), found.uuid.clone()],
                vec!["state".into(), state.into()],
                vec!["tag ids".into(), found.tag_ids.join(", ")],
            ];
            for (key, value) in &found.fields {
                let shown = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                rows.push(vec![format!("field {key}"), shown]);
            }
            out.table(
                &["", ""],
                rows,
                json!({
                    "email": found.email,
                    "uuid": found.uuid,
                    "subscribed": found.unsubscribed_at.is_none(),
                    "tag_ids": found.tag_ids,
                    "fields": found.fields,
                }),
            );
            return Ok(());
        }
        SubscriberCommand::Tag { email, tag } => BentoCommand::AddTag { email, tag },
        SubscriberCommand::Untag { email, tag } => BentoCommand::RemoveTag { email, tag },
        SubscriberCommand::Field { email, key, value } => BentoCommand::AddField {
            email,
            key,
            value: Value::String(value),
        },
        SubscriberCommand::Unfield { email, key } => BentoCommand::RemoveField { email, key },
        SubscriberCommand::Subscribe { email } => BentoCommand::Subscribe { email },
        SubscriberCommand::Unsubscribe { email } => BentoCommand::Unsubscribe { email },
        SubscriberCommand::ChangeEmail { email, new_email } => {
            BentoCommand::ChangeEmail { email, new_email }
        }
        SubscriberCommand::Delete { email } => {
            let (said, queued) = match client.request_data_deletion(&email).await? {
                bento_core::deletion::Deletion::Queued => ("queued for anonymization", true),
                _ => ("no such subscriber: nothing to delete", false),
            };
            out.done(
                &format!("{email}: {said}"),
                json!({"email": email, "queued": queued}),
            );
            return Ok(());
        }
    };
    let name = command.name();
    let email = command.email().to_owned();
    client.run_command(command).await?;
    out.done(
        &format!("{name}: done for {email}"),
        json!({"command": name, "email": email}),
    );
    Ok(())
}

/// `bento emulator`: the local emulator until Ctrl-C or SIGTERM.
pub(crate) async fn emulator(
    port: u16,
    no_rate_limits: bool,
    plan: Option<std::path::PathBuf>,
) -> Result<ExitCode, Failure> {
    let mut builder = bento_emulator::Emulator::builder().port(port);
    if no_rate_limits {
        builder = builder.no_rate_limits();
    }
    if let Some(path) = plan {
        let plan = bento_core::plan::Plan::load(&path)
            .map_err(|error| Failure::Usage(error.to_string()))?;
        builder = builder.plan(plan);
    }
    let emulator = builder
        .start()
        .await
        .map_err(|e| Failure::Failed(format!("the emulator could not start: {e}")))?;
    // Listening before the announcement: a SIGTERM right after it stops cleanly.
    let stop = bento_core::integration::shutdown::signal();
    println!("Bento emulator listening; point a client at it with:");
    print!("{}", emulator.shell_exports());
    println!("Ctrl-C or SIGTERM stops it.");
    stop.await;
    Ok(ExitCode::SUCCESS)
}
