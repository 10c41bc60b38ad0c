//! Debian packages from dpkg's status database (written in the next commit).

use super::{Candidate, CatalogContext, Cataloger, Catalogued, WantedFile};

/// dpkg `status` and distroless `status.d/*`.
pub struct DpkgCataloger;

impl Cataloger for DpkgCataloger {
    fn name(&self) -> &'static str {
        "dpkg"
    }
    fn wants(&self, _candidate: &Candidate<'_>) -> bool {
        false
    }
    fn catalog(&self, _file: &mut WantedFile<'_>, _context: &CatalogContext<'_>) -> Catalogued {
        Catalogued::default()
    }
}
