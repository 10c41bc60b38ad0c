//! PHP packages: Composer's installed `vendor/composer/installed.json` and declared
//! `composer.lock`.
//!
//! Composer 1 writes `installed.json` as an array of packages, Composer 2 as an object
//! with a `packages` array; `composer.lock` has `packages` and `packages-dev`. Each package
//! carries `name` (`vendor/project`) and `version` as Composer shows it (`v5.4.0`,
//! `dev-main`), kept as written since advisories compare Composer's own versions.

use super::language::{self, Collector, Reading, Text};
use super::{Candidate, CatalogContext, Cataloger, Catalogued, DEFAULT_READ_LIMIT, Ecosystem, Evidence, WantedFile};
use crate::fs::FileType;
use serde::Deserialize;

/// Composer packages, installed and locked.
pub struct ComposerCataloger;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `vendor/composer/installed.json`.
    Installed,
    /// `composer.lock`.
    Lock,
}

fn format_of(path: &[u8]) -> Option<Format> {
    let mut reversed = language::components_reversed(path);
    match (reversed.next()?, reversed.next(), reversed.next()) {
        (b"installed.json", Some(b"composer"), Some(b"vendor")) => Some(Format::Installed),
        (b"composer.lock", _, _) => Some(Format::Lock),
        _ => None,
    }
}

impl Cataloger for ComposerCataloger {
    fn name(&self) -> &'static str {
        "php-composer"
    }

    fn wants(&self, candidate: &Candidate<'_>) -> bool {
        candidate.file_type == FileType::Regular && format_of(candidate.path).is_some()
    }

    fn catalog(&self, file: &mut WantedFile<'_>, context: &CatalogContext<'_>) -> Catalogued {
        let Some(format) = format_of(file.path) else {
            return Catalogued::default();
        };
        let evidence = if format == Format::Installed { Evidence::Installed } else { Evidence::Declared };
        let kind = (Ecosystem::Composer, evidence);
        language::catalog_text(file, context, self.name(), kind, Reading::Whole(DEFAULT_READ_LIMIT), parse)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Document {
    /// Composer 1 `installed.json`.
    List(Vec<ComposerPackage>),
    /// Composer 2 `installed.json` and `composer.lock`.
    Object {
        #[serde(default)]
        packages: Vec<ComposerPackage>,
        #[serde(default, rename = "packages-dev")]
        packages_dev: Vec<ComposerPackage>,
    },
}

#[derive(Deserialize)]
struct ComposerPackage {
    #[serde(default)]
    name: Text,
    #[serde(default)]
    version: Text,
}

/// `pkg:composer/vendor/project@version`.
fn composer_purl(name: &str, version: &str) -> String {
    match name.split_once('/') {
        Some((vendor, project)) => language::purl(Ecosystem::Composer, Some(vendor), project, version),
        None => language::purl(Ecosystem::Composer, None, name, version),
    }
}

fn parse(text: &str, collector: &mut Collector) -> Result<(), String> {
    let document: Document = language::parse_json(text).map_err(|_| {
        // serde's untagged error names no cause; say which shapes were expected.
        match language::parse_json::<serde::de::IgnoredAny>(text) {
            Err(message) => message,
            Ok(_) => "neither a list of packages nor an object with a packages list".to_string(),
        }
    })?;
    let packages: Vec<&ComposerPackage> = match &document {
        Document::List(packages) => packages.iter().collect(),
        Document::Object { packages, packages_dev } => packages.iter().chain(packages_dev).collect(),
    };
    for package in packages {
        match (package.name.as_deref(), package.version.as_deref()) {
            (Some(name), Some(version)) => collector.add(name, version, composer_purl),
            _ => collector.problem("a package without name or version"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::language::testing::{candidate, catalog, names, purls};
    use super::*;

    #[test]
    fn wants_table() {
        let table: &[(&str, bool)] = &[
            ("/var/www/app/vendor/composer/installed.json", true),
            ("/var/www/app/composer.lock", true),
            ("/var/www/app/composer.json", false),
            ("/var/www/app/installed.json", false),
            ("/var/www/app/composer/installed.json", false),
            ("/var/www/app/vendor/installed.json", false),
            ("/var/www/app/vendor/composer/installed.php", false),
        ];
        for (path, expected) in table {
            assert_eq!(ComposerCataloger.wants(&candidate(path)), *expected, "{path}");
        }
    }

    #[test]
    fn installed_v1_and_v2() {
        let path = "/app/vendor/composer/installed.json";
        let v1 = r#"[{"name":"symfony/console","version":"v5.4.0","version_normalized":"5.4.0.0"},{"name":"monolog/monolog","version":"2.3.5"}]"#;
        let found = catalog(&ComposerCataloger, path, v1.as_bytes());
        assert_eq!(purls(&found), ["pkg:composer/symfony/console@v5.4.0", "pkg:composer/monolog/monolog@2.3.5"]);
        assert_eq!(found.packages[0].evidence, Evidence::Installed);
        let v2 = r#"{"packages":[{"name":"psr/log","version":"1.1.4"}],"dev":true,"dev-package-names":[]}"#;
        assert_eq!(names(&catalog(&ComposerCataloger, path, v2.as_bytes())), ["psr/log@1.1.4"]);
    }

    #[test]
    fn lock_with_dev_packages() {
        let text = r#"{"_readme":["x"],"packages":[{"name":"laravel/framework","version":"v8.0.0"}],"packages-dev":[{"name":"phpunit/phpunit","version":"9.5.10"},{"name":"broken"}]}"#;
        let found = catalog(&ComposerCataloger, "/app/composer.lock", text.as_bytes());
        assert_eq!(names(&found), ["laravel/framework@v8.0.0", "phpunit/phpunit@9.5.10"]);
        assert_eq!(found.packages[0].evidence, Evidence::Declared);
        assert_eq!(found.problems, ["a package without name or version"]);
    }

    #[test]
    fn bad_input() {
        let path = "/app/composer.lock";
        assert!(catalog(&ComposerCataloger, path, b"").problems[0].contains("not valid JSON"));
        assert!(
            catalog(&ComposerCataloger, path, br#"{"packages":[{"name":"a/b","#).problems[0].contains("not valid JSON")
        );
        assert_eq!(
            catalog(&ComposerCataloger, path, b"42").problems,
            ["neither a list of packages nor an object with a packages list"]
        );
        assert!(catalog(&ComposerCataloger, path, b"\x00\x00\x00").problems[0].contains("not valid JSON"));
    }
}
