//! Key naming: Bento's keys are lowercase and underscored (`first_name`), so
//! that is what every key must be after renaming (the rule is
//! `bento_plan::key`'s), and the only renaming rules offered are the ones
//! that produce such keys.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum RenameRule {
    /// `firstName` -> `first_name`.
    SnakeCase,
    /// `firstName` -> `firstname`.
    Lowercase,
}

pub(crate) const RENAME_RULES: &[&str] = &["snake_case", "lowercase"];

impl RenameRule {
    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value {
            "snake_case" => Some(Self::SnakeCase),
            "lowercase" => Some(Self::Lowercase),
            _ => None,
        }
    }

    pub(crate) fn apply(self, name: &str) -> String {
        match self {
            Self::SnakeCase => to_snake_case(name),
            Self::Lowercase => name.to_lowercase(),
        }
    }
}

pub(crate) use bento_plan::key::{is_valid as is_valid_key, snake_case as to_snake_case};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(RenameRule::parse("camelCase"), None);
        assert_eq!(RenameRule::SnakeCase.apply("orderId"), "order_id");
        assert_eq!(RenameRule::Lowercase.apply("orderId"), "orderid");
    }
}
