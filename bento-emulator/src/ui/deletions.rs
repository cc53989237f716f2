//! The web UI's Deletions page: the data deletion requests received (what an
//! app's erasures asked of Bento), and when each person was anonymized.

use std::fmt::Write as _;

use super::esc;
use crate::shared::Shared;

/// Every deletion request, newest first.
pub(super) fn deletions(shared: &Shared) -> String {
    let state = shared.state();
    let records = &state.deletions.records;
    let mut out = String::from(
        "<h1>Deletions</h1><p class=\"muted\">Data deletion requests received, newest first: a \
         person is anonymized (email, fields, tags; the address removed from their events and \
         emails) when the request is carried out.</p>",
    );
    if records.is_empty() {
        out.push_str("<p class=\"muted\">No deletion requested yet.</p>");
        return out;
    }
    out.push_str(
        "<table><thead><tr><th>Requested</th><th>Email</th><th>Anonymized</th></tr></thead><tbody>",
    );
    for record in records.iter().rev() {
        let (class, done) = match &record.anonymized_at {
            Some(at) => ("status-ok", at.as_str()),
            None => ("muted", "pending"),
        };
        let _ = write!(
            out,
            "<tr><td class=\"muted\">{}</td><td>{}</td><td class=\"{class}\">{}</td></tr>",
            esc(&record.requested_at),
            esc(&record.email),
            esc(done),
        );
    }
    out.push_str("</tbody></table>");
    out
}
