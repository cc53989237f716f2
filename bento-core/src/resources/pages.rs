//! Every page of a paged list: read one page at a time with
//! [`Pages::next_page`], or all of them with [`Pages::all`].

use std::future::Future;
use std::pin::Pin;

use crate::error::Error;

type Fetch<T> =
    Box<dyn FnMut(u32) -> Pin<Box<dyn Future<Output = Result<Page<T>, Error>> + Send>> + Send>;

/// One page, and whether another may follow.
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) more: bool,
}

/// The pages of a list, fetched as they are asked for (page 1 first).
pub struct Pages<T> {
    fetch: Fetch<T>,
    next: u32,
    done: bool,
}

impl<T> std::fmt::Debug for Pages<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("next", &self.next)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// A guard against a server that always says there is more: no list of
/// Bento's comes near this many pages.
const MAX_PAGES: u32 = 100_000;

impl<T: Send + 'static> Pages<T> {
    pub(crate) fn new(
        fetch: impl FnMut(u32) -> Pin<Box<dyn Future<Output = Result<Page<T>, Error>> + Send>>
        + Send
        + 'static,
    ) -> Self {
        Self {
            fetch: Box::new(fetch),
            next: 1,
            done: false,
        }
    }

    /// The next page's items; `Ok(None)` after the last one.
    pub async fn next_page(&mut self) -> Result<Option<Vec<T>>, Error> {
        if self.done || self.next > MAX_PAGES {
            return Ok(None);
        }
        let page = (self.fetch)(self.next).await?;
        self.next += 1;
        if !page.more || page.items.is_empty() {
            self.done = true;
        }
        if page.items.is_empty() {
            return Ok(None);
        }
        Ok(Some(page.items))
    }

    /// Every item of every remaining page, in order.
    pub async fn all(mut self) -> Result<Vec<T>, Error> {
        let mut all = Vec::new();
        while let Some(items) = self.next_page().await? {
            all.extend(items);
        }
        Ok(all)
    }
}
