use std::collections::{BTreeSet, HashSet, VecDeque};
use std::hash::BuildHasher;

use serde::{Serialize, Serializer};

use crate::error::ValidationError;

/// A list of tag names: the type of a `#[bento(tags)]` or
/// `#[bento(remove_tags)]` field.
///
/// Bento's import takes tags as one comma-separated string; the list is joined
/// when the record is written, and a tag that itself contains a comma is a
/// [`ValidationError::TagContainsComma`](crate::ValidationError::TagContainsComma)
/// instead of two tags.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a list of tags",
    label = "tags must be a list of strings",
    note = "use `Vec<String>`, `&[&str]`, `[&str; N]`, `BTreeSet<String>` or `HashSet<String>`, or implement `bento_core::convert::TagList`"
)]
pub trait TagList {
    /// Calls `each` with every tag, in order.
    fn for_each_tag(&self, each: &mut dyn FnMut(&str));
}

macro_rules! sequence_impls {
    ($($ty:ty => [$($generics:tt)*]),* $(,)?) => {$(
        impl<$($generics)*> TagList for $ty {
            fn for_each_tag(&self, each: &mut dyn FnMut(&str)) {
                for tag in self {
                    each(tag.as_ref());
                }
            }
        }
    )*};
}

sequence_impls! {
    [T] => [T: AsRef<str>],
    Vec<T> => [T: AsRef<str>],
    VecDeque<T> => [T: AsRef<str>],
    BTreeSet<T> => [T: AsRef<str>],
    HashSet<T, S> => [T: AsRef<str>, S: BuildHasher],
}

impl<T: AsRef<str>, const N: usize> TagList for [T; N] {
    fn for_each_tag(&self, each: &mut dyn FnMut(&str)) {
        self.as_slice().for_each_tag(each);
    }
}

impl<L: TagList + ?Sized> TagList for Box<L> {
    fn for_each_tag(&self, each: &mut dyn FnMut(&str)) {
        (**self).for_each_tag(each);
    }
}

impl<L: TagList + ?Sized> TagList for &L {
    fn for_each_tag(&self, each: &mut dyn FnMut(&str)) {
        (**self).for_each_tag(each);
    }
}

impl<L: TagList> TagList for Option<L> {
    fn for_each_tag(&self, each: &mut dyn FnMut(&str)) {
        if let Some(list) = self {
            list.for_each_tag(each);
        }
    }
}

/// Whether the list holds at least one tag.
pub(crate) fn is_empty<L: TagList + ?Sized>(list: &L) -> bool {
    let mut empty = true;
    list.for_each_tag(&mut |_| empty = false);
    empty
}

/// The first tag containing a comma, which would split into two tags on the wire.
pub(crate) fn first_with_comma<L: TagList + ?Sized>(list: &L) -> Option<String> {
    let mut bad = None;
    list.for_each_tag(&mut |tag| {
        if bad.is_none() && tag.contains(',') {
            bad = Some(tag.to_owned());
        }
    });
    bad
}

/// Writes the tags joined with commas, straight into the output.
pub(crate) struct Joined<'a, L: ?Sized>(pub(crate) &'a L);

impl<L: TagList + ?Sized> std::fmt::Display for Joined<'_, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut result = Ok(());
        let mut first = true;
        self.0.for_each_tag(&mut |tag| {
            if result.is_ok() {
                if !first {
                    result = f.write_str(",");
                }
                first = false;
                if result.is_ok() {
                    result = f.write_str(tag);
                }
            }
        });
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_every_list_shape() {
        assert_eq!(Joined(&vec!["a", "b"]).to_string(), "a,b");
        assert_eq!(Joined(&["x".to_owned()]).to_string(), "x");
        assert_eq!(Joined(&BTreeSet::from(["b", "a"])).to_string(), "a,b");
        assert_eq!(Joined(&None::<Vec<String>>).to_string(), "");
        assert!(is_empty(&Vec::<String>::new()));
        assert!(!is_empty(&Some(["a"])));
    }

    #[test]
    fn finds_the_tag_with_a_comma() {
        assert_eq!(
            first_with_comma(&["ok", "a,b", "c,d"]),
            Some("a,b".to_owned())
        );
        assert_eq!(first_with_comma(&["ok"]), None);
    }
}

/// Tags joined with commas, written straight into the output.
#[derive(Debug)]
pub struct Tags<'a, L: ?Sized>(pub &'a L);

impl<L: TagList + ?Sized> Serialize for Tags<'_, L> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&Joined(self.0))
    }
}

/// Rejects a tag that contains a comma, which would arrive as two tags.
pub fn check_tags<L: TagList + ?Sized>(field: &str, list: &L) -> Result<(), ValidationError> {
    match first_with_comma(list) {
        Some(tag) => Err(ValidationError::TagContainsComma {
            field: field.to_owned(),
            tag,
        }),
        None => Ok(()),
    }
}
