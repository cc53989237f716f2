//! The JSON on the wire: the envelopes of events and subscriber records, the
//! NaN-refusing serializer, and the decoding helpers for Bento's dialects.

pub(crate) mod de;
pub(crate) mod envelope;
pub(crate) mod finite;
