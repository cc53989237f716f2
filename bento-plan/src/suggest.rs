//! "Did you mean": the closest name, when it is close enough to be a typo.

/// The candidate closest to `typo` (edits, with a swap of two neighbours as
/// one), if it is close enough to be a typo of it: one edit for names of up
/// to five characters, two beyond. `typo` itself is never suggested.
///
/// ```
/// let names = ["account.signup", "$purchase"];
/// assert_eq!(bento_plan::closest("acount.signup", names), Some("account.signup"));
/// assert_eq!(bento_plan::closest("newsletter", names), None);
/// ```
pub fn closest<'a>(typo: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = match typo.chars().count() {
        0..=5 => 1,
        _ => 2,
    };
    candidates
        .into_iter()
        .map(|candidate| (distance(typo, candidate), candidate))
        .filter(|(d, _)| *d <= limit && *d > 0)
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate)
}

/// Optimal string alignment distance.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = [
            "email", "detail", "field", "unique", "date", "rename", "skip", "skip_if",
        ];
        assert_eq!(closest("emial", names), Some("email"));
        assert_eq!(closest("detial", names), Some("detail"));
        assert_eq!(closest("renam", names), Some("rename"));
        assert_eq!(closest("skipif", names), Some("skip_if"));
        assert_eq!(closest("frobnicate", names), None);
        assert_eq!(closest("email", names), None);
        assert_eq!(
            closest("frist_name", ["first_name", "last_name"]),
            Some("first_name")
        );
    }
}
