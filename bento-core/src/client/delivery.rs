//! The client's side of background delivery: what `track` and its siblings
//! do with the engine (`crate::dispatch`), which knows nothing of `Client`.

use std::time::Duration;

use super::Client;
use crate::delivery::{DeliveryReport, DeliveryStats, Encoded, FlushError, ItemKind, TrackError};
use crate::events::BentoEvent;
use crate::model::envelope::{encode_event, encode_record};
use crate::subscribers::BentoSubscriber;

impl Client {
    /// Logs, counts and hooks a refusal that is the program's mistake (see
    /// [`TrackError::is_bug`]), and returns the result as it was.
    pub(crate) fn account(&self, result: Result<(), TrackError>) -> Result<(), TrackError> {
        self.inner.dispatcher.account(result)
    }

    /// Accounts a result nobody will see: every refusal goes to the failure
    /// hook.
    pub(crate) fn orphan(&self, result: Result<(), TrackError>) {
        self.inner.dispatcher.orphan(result);
    }

    /// Holds an encoded event or record to the tracking plan, if there is one.
    pub(crate) fn check_plan(
        &self,
        kind: ItemKind,
        json: &[u8],
        item: impl FnOnce() -> String,
    ) -> Result<(), crate::ValidationError> {
        match &self.inner.plan {
            Some(plan) => super::plan::check(plan, kind, json, item),
            None => Ok(()),
        }
    }

    /// Holds a custom field about to be created to the tracking plan.
    pub(crate) fn check_new_field(&self, key: &str) -> Result<(), crate::ValidationError> {
        match &self.inner.plan {
            Some(plan) => super::plan::check_new_field(plan, key),
            None => Ok(()),
        }
    }

    /// Queues an event for background delivery and returns at once.
    ///
    /// The event is checked and encoded before this returns, so a mistake is
    /// an error here, not a log line later. It never blocks and never awaits:
    /// call it from async handlers on any runtime, or from sync code. The
    /// first call starts the delivery thread.
    ///
    /// When the queue is full the event is handed back inside
    /// [`TrackError::QueueFull`]; [`track_wait`](Self::track_wait) waits for
    /// room instead.
    pub fn track<E: BentoEvent + ?Sized>(&self, event: &E) -> Result<(), TrackError> {
        self.inner.dispatcher.account(self.try_track(event))
    }

    pub(crate) fn try_track<E: BentoEvent + ?Sized>(&self, event: &E) -> Result<(), TrackError> {
        let dispatcher = &self.inner.dispatcher;
        let mut json = dispatcher.buffer();
        encode_event(event, || "event".to_owned(), &mut json)?;
        self.check_plan(ItemKind::Event, &json, || "event".to_owned())?;
        let item = dispatcher.sized(ItemKind::Event, json)?;
        dispatcher.enqueue([item])
    }

    /// Queues `event` about the subscriber `email`, like [`track`](Self::track):
    /// for events without an email of their own (`#[derive(BentoEvent)]` on
    /// a struct with no email field), outside a request. An event with its
    /// own email keeps it.
    pub fn track_for<E: crate::events::SubscriberEvent + ?Sized>(
        &self,
        email: &str,
        event: &E,
    ) -> Result<(), TrackError> {
        self.track(&crate::events::ForSubscriber::new(email, event))
    }

    /// Like [`track`](Self::track), but waits for room in the queue instead
    /// of handing the event back.
    pub async fn track_wait<E: BentoEvent + ?Sized>(&self, event: &E) -> Result<(), TrackError> {
        self.inner
            .dispatcher
            .account(self.try_track_wait(event).await)
    }

    async fn try_track_wait<E: BentoEvent + ?Sized>(&self, event: &E) -> Result<(), TrackError> {
        let item = Encoded::event(event)?;
        self.check_plan(ItemKind::Event, item.json(), || "event".to_owned())?;
        self.enqueue_wait(item).await
    }

    /// Queues an item encoded earlier, such as one handed back by a
    /// [`TrackError`] or a [`DeliveryFailure`](crate::DeliveryFailure).
    pub fn enqueue(&self, item: Encoded) -> Result<(), TrackError> {
        self.inner.dispatcher.account(self.try_enqueue(item))
    }

    pub(crate) fn try_enqueue(&self, item: Encoded) -> Result<(), TrackError> {
        let dispatcher = &self.inner.dispatcher;
        let item = dispatcher.sized(item.kind, item.json)?;
        dispatcher.enqueue([item])
    }

    /// Like [`enqueue`](Self::enqueue), but waits for room in the queue.
    pub async fn enqueue_wait(&self, item: Encoded) -> Result<(), TrackError> {
        self.inner.dispatcher.enqueue_wait(item).await
    }

    /// Queues one subscriber record for background import (`/batch/subscribers`,
    /// which does not trigger automations).
    pub fn enqueue_subscriber<S: BentoSubscriber + ?Sized>(
        &self,
        record: &S,
    ) -> Result<(), TrackError> {
        self.inner
            .dispatcher
            .account(self.try_enqueue_subscriber(record))
    }

    fn try_enqueue_subscriber<S: BentoSubscriber + ?Sized>(
        &self,
        record: &S,
    ) -> Result<(), TrackError> {
        let dispatcher = &self.inner.dispatcher;
        let mut json = dispatcher.buffer();
        encode_record(record, || "subscriber".to_owned(), &mut json)?;
        self.check_plan(ItemKind::Subscriber, &json, || "subscriber".to_owned())?;
        let item = dispatcher.sized(ItemKind::Subscriber, json)?;
        dispatcher.enqueue([item])
    }

    /// Queues subscriber records for background import, all or none: every
    /// record is checked first, and if the queue cannot take them all, all
    /// are handed back.
    pub fn enqueue_subscribers<S: BentoSubscriber>(&self, records: &[S]) -> Result<(), TrackError> {
        self.inner
            .dispatcher
            .account(self.try_enqueue_subscribers(records))
    }

    fn try_enqueue_subscribers<S: BentoSubscriber>(&self, records: &[S]) -> Result<(), TrackError> {
        let dispatcher = &self.inner.dispatcher;
        let mut items = Vec::with_capacity(records.len());
        for (index, record) in records.iter().enumerate() {
            let mut json = dispatcher.buffer();
            encode_record(record, || format!("subscribers[{index}]"), &mut json)?;
            self.check_plan(ItemKind::Subscriber, &json, || {
                format!("subscribers[{index}]")
            })?;
            items.push(dispatcher.sized(ItemKind::Subscriber, json)?);
        }
        dispatcher.enqueue(items)
    }

    /// Queues a subscriber command for background delivery and returns at
    /// once, like [`track`](Self::track): queued commands are sent together
    /// to `/fetch/commands` (up to
    /// [`MAX_COMMANDS_PER_REQUEST`](crate::commands::MAX_COMMANDS_PER_REQUEST)
    /// per request, under the `/fetch` family's rate limit), retried while
    /// Bento is unreachable, and a batch Bento refuses is halved until the
    /// bad command is alone and handed to the failure hook. Commands and
    /// events travel in separate requests, so their relative order is not
    /// kept; [`run_commands`](Self::run_commands) waits for Bento's answer.
    ///
    /// ```no_run
    /// # fn run(client: bento_core::Client) -> Result<(), bento_core::TrackError> {
    /// use bento_core::Command;
    /// client.enqueue_command(Command::Subscribe { email: "ada@example.com".into() })?;
    /// # Ok(()) }
    /// ```
    pub fn enqueue_command(&self, command: crate::Command) -> Result<(), TrackError> {
        self.inner
            .dispatcher
            .account(self.try_enqueue_command(command))
    }

    fn try_enqueue_command(&self, command: crate::Command) -> Result<(), TrackError> {
        let item = Encoded::command(&command)?;
        self.check_plan(ItemKind::Command, item.json(), || "command".to_owned())?;
        self.try_enqueue(item)
    }

    /// Queues several commands, all or none, like
    /// [`enqueue_subscribers`](Self::enqueue_subscribers).
    pub fn enqueue_commands(&self, commands: &[crate::Command]) -> Result<(), TrackError> {
        self.inner
            .dispatcher
            .account(self.try_enqueue_commands(commands))
    }

    fn try_enqueue_commands(&self, commands: &[crate::Command]) -> Result<(), TrackError> {
        let dispatcher = &self.inner.dispatcher;
        let mut items = Vec::with_capacity(commands.len());
        for (index, command) in commands.iter().enumerate() {
            let at = format!("command[{index}]");
            let item = Encoded::command_at(command, &at)?;
            self.check_plan(ItemKind::Command, item.json(), || at)?;
            items.push(dispatcher.sized(item.kind, item.json)?);
        }
        dispatcher.enqueue(items)
    }

    /// The delivery engine's counters.
    pub fn stats(&self) -> DeliveryStats {
        self.inner.dispatcher.stats()
    }

    /// Sends everything queued before this call now (ignoring the flush
    /// interval) and waits until it is delivered or given up on, for at most
    /// `timeout`. Requests in flight are given no more than the time left.
    ///
    /// Items tracked meanwhile are delivered too, but not waited for.
    pub async fn flush(&self, timeout: Duration) -> Result<DeliveryReport, FlushError> {
        self.inner.dispatcher.flush(timeout).await
    }

    /// Stops accepting items (`track` then hands them back as
    /// [`TrackError::Closed`]), delivers everything queued within `timeout`,
    /// and stops the delivery thread. Whatever is still undelivered at the
    /// deadline goes to the failure hook and is counted in the error.
    ///
    /// Affects every clone of this client. Call it after your server has
    /// stopped taking requests.
    ///
    /// Calling it again, or from several tasks at once, is fine: every call
    /// waits (up to its own `timeout`) for the one drain and returns its outcome.
    pub async fn shutdown(&self, timeout: Duration) -> Result<DeliveryReport, FlushError> {
        self.inner.dispatcher.shutdown(timeout).await
    }
}
