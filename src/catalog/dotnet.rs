//! .NET packages: an application's `*.deps.json` (installed) and NuGet's
//! `packages.lock.json` (declared).
//!
//! `*.deps.json` sits beside a deployed application and lists every library it loads in
//! `libraries`, keyed `Name/Version`; only `"type": "package"` entries are NuGet packages
//! (`project` is the application itself, `reference`/`runtimepack` are framework parts).
//! `packages.lock.json` maps each target framework to packages with a `resolved` version;
//! `Project` entries are the solution's own projects. A package locked for several
//! frameworks is reported once.

use super::language::{self, Collector, Reading, Text};
use super::{Candidate, CatalogContext, Cataloger, Catalogued, DEFAULT_READ_LIMIT, Ecosystem, Evidence, WantedFile};
use crate::fs::FileType;
use serde::Deserialize;
use std::collections::BTreeMap;

/// NuGet packages from deps files and lockfiles.
pub struct DotnetCataloger;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `<application>.deps.json`.
    Deps,
    /// `packages.lock.json`.
    PackagesLock,
}

fn format_of(path: &[u8]) -> Option<Format> {
    let name = crate::fs::path::file_name(path);
    match name {
        b"packages.lock.json" => Some(Format::PackagesLock),
        _ if name.ends_with(b".deps.json") && name.len() > b".deps.json".len() => Some(Format::Deps),
        _ => None,
    }
}

impl Cataloger for DotnetCataloger {
    fn name(&self) -> &'static str {
        "dotnet"
    }

    fn wants(&self, candidate: &Candidate<'_>) -> bool {
        candidate.file_type == FileType::Regular && format_of(candidate.path).is_some()
    }

    fn catalog(&self, file: &mut WantedFile<'_>, context: &CatalogContext<'_>) -> Catalogued {
        let Some(format) = format_of(file.path) else {
            return Catalogued::default();
        };
        let evidence = if format == Format::Deps { Evidence::Installed } else { Evidence::Declared };
        let kind = (Ecosystem::Nuget, evidence);
        language::catalog_text(
            file,
            context,
            self.name(),
            kind,
            Reading::Whole(DEFAULT_READ_LIMIT),
            |text, collector| match format {
                Format::Deps => parse_deps(text, collector),
                Format::PackagesLock => parse_packages_lock(text, collector),
            },
        )
    }
}

/// `pkg:nuget/Name@version`.
fn nuget_purl(name: &str, version: &str) -> String {
    language::purl(Ecosystem::Nuget, None, name, version)
}

#[derive(Deserialize)]
struct DepsFile {
    #[serde(default)]
    libraries: BTreeMap<String, Library>,
}

#[derive(Deserialize)]
struct Library {
    #[serde(default, rename = "type")]
    kind: Text,
}

fn parse_deps(text: &str, collector: &mut Collector) -> Result<(), String> {
    let deps: DepsFile = language::parse_json(text)?;
    for (key, library) in &deps.libraries {
        if library.kind.as_deref() != Some("package") {
            continue;
        }
        match key.split_once('/') {
            Some((name, version)) => collector.add(name, version, nuget_purl),
            None => collector
                .problem(format!("library key {:?} is not Name/Version", key.chars().take(80).collect::<String>())),
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct PackagesLock {
    #[serde(default)]
    dependencies: BTreeMap<String, BTreeMap<String, LockedPackage>>,
}

#[derive(Deserialize)]
struct LockedPackage {
    #[serde(default, rename = "type")]
    kind: Text,
    #[serde(default)]
    resolved: Text,
}

fn parse_packages_lock(text: &str, collector: &mut Collector) -> Result<(), String> {
    let lock: PackagesLock = language::parse_json(text)?;
    for (name, locked) in lock.dependencies.values().flatten() {
        if locked.kind.as_deref() == Some("Project") {
            continue;
        }
        match locked.resolved.as_deref() {
            Some(version) => collector.add(name, version, nuget_purl),
            None => collector.problem(format!("{name}: no resolved version")),
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
            ("/app/MyApp.deps.json", true),
            ("/usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.0/Microsoft.NETCore.App.deps.json", true),
            ("/src/MyApp/packages.lock.json", true),
            ("/app/.deps.json", false),
            ("/app/MyApp.runtimeconfig.json", false),
            ("/src/MyApp/obj/project.assets.json", false),
            ("/src/MyApp/packages.config", false),
            ("/src/MyApp/MyApp.csproj", false),
        ];
        for (path, expected) in table {
            assert_eq!(DotnetCataloger.wants(&candidate(path)), *expected, "{path}");
        }
    }

    #[test]
    fn deps_json_packages_only() {
        let text = "\u{feff}{\"targets\":{},\"libraries\":{\"MyApp/1.0.0\":{\"type\":\"project\"},\"Newtonsoft.Json/13.0.1\":{\"type\":\"package\",\"serviceable\":true},\"runtimepack.x/8.0.0\":{\"type\":\"runtimepack\"},\"Broken\":{\"type\":\"package\"}}}";
        let found = catalog(&DotnetCataloger, "/app/MyApp.deps.json", text.as_bytes());
        assert_eq!(purls(&found), ["pkg:nuget/Newtonsoft.Json@13.0.1"]);
        assert_eq!(found.packages[0].evidence, Evidence::Installed);
        assert_eq!(found.problems, ["library key \"Broken\" is not Name/Version"]);
    }

    #[test]
    fn packages_lock_across_frameworks() {
        let text = r#"{"version":1,"dependencies":{
            "net6.0":{"Newtonsoft.Json":{"type":"Direct","requested":"[13.0.1, )","resolved":"13.0.1"},"Lib":{"type":"Project"}},
            "net8.0":{"Newtonsoft.Json":{"type":"Direct","resolved":"13.0.1"},"System.Memory":{"type":"Transitive","resolved":"4.5.5"},"Odd":{"type":"Transitive"}}}}"#;
        let found = catalog(&DotnetCataloger, "/src/packages.lock.json", text.as_bytes());
        assert_eq!(names(&found), ["Newtonsoft.Json@13.0.1", "System.Memory@4.5.5"]);
        assert_eq!(found.packages[0].evidence, Evidence::Declared);
        assert_eq!(found.problems, ["Odd: no resolved version"]);
    }

    #[test]
    fn bad_input() {
        for path in ["/app/a.deps.json", "/src/packages.lock.json"] {
            assert!(catalog(&DotnetCataloger, path, b"").problems[0].contains("not valid JSON"));
            assert!(
                catalog(&DotnetCataloger, path, br#"{"libraries":{"a/1":{"type":"pack"#).problems[0]
                    .contains("not valid JSON")
            );
            assert!(catalog(&DotnetCataloger, path, b"MZ garbage").problems[0].contains("not valid JSON"));
            assert!(catalog(&DotnetCataloger, path, b"{}").packages.is_empty());
        }
    }
}
