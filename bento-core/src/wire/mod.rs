//! The JSON on the wire: the NaN-refusing serializer, and the decoding helpers for Bento's dialects.

pub(crate) mod de;
pub(crate) mod finite;
