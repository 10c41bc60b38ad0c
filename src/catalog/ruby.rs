//! Ruby gems: installed `specifications/*.gemspec` and declared `Gemfile.lock`.
//!
//! Installed gemspecs are Ruby, written by RubyGems from the gem's metadata; they are never
//! evaluated. RubyGems writes the name and version as literals (`s.name = "rake".freeze`,
//! `s.version = "13.0.6"`, `%q{…}` in old releases), so those two assignment lines are read
//! and anything else (a constant, a method call) is a problem, not a guess. Default gems
//! live in `specifications/default/`. `Gemfile.lock` (and `gems.locked`) lists resolved gems
//! under `specs:` of its `GEM` and `GIT` sections, four spaces in (six are their
//! dependencies); `PATH` sections are the project's own gems and are skipped.

use super::language::{self, Collector, Reading};
use super::{Candidate, CatalogContext, Cataloger, Catalogued, DEFAULT_READ_LIMIT, Ecosystem, Evidence, WantedFile};
use crate::fs::FileType;

/// Largest gemspec read (RubyGems writes a few KiB).
const GEMSPEC_LIMIT: u64 = 1024 * 1024;

/// Ruby gems from installed specifications and Gemfile locks.
pub struct RubyCataloger;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `specifications/[default/]<name>-<version>.gemspec`.
    InstalledSpecification,
    /// `Gemfile.lock` or `gems.locked`.
    GemfileLock,
}

fn format_of(path: &[u8]) -> Option<Format> {
    let mut reversed = language::components_reversed(path);
    let name = reversed.next()?;
    let parent = reversed.next().unwrap_or_default();
    let grandparent = reversed.next().unwrap_or_default();
    match name {
        b"Gemfile.lock" | b"gems.locked" => Some(Format::GemfileLock),
        _ if name.ends_with(b".gemspec")
            && (parent == b"specifications" || (parent == b"default" && grandparent == b"specifications")) =>
        {
            Some(Format::InstalledSpecification)
        }
        _ => None,
    }
}

impl Cataloger for RubyCataloger {
    fn name(&self) -> &'static str {
        "ruby"
    }

    fn wants(&self, candidate: &Candidate<'_>) -> bool {
        candidate.file_type == FileType::Regular && format_of(candidate.path).is_some()
    }

    fn catalog(&self, file: &mut WantedFile<'_>, context: &CatalogContext<'_>) -> Catalogued {
        let Some(format) = format_of(file.path) else {
            return Catalogued::default();
        };
        let (evidence, limit) = match format {
            Format::InstalledSpecification => (Evidence::Installed, GEMSPEC_LIMIT),
            Format::GemfileLock => (Evidence::Declared, DEFAULT_READ_LIMIT),
        };
        let kind = (Ecosystem::Gem, evidence);
        language::catalog_text(
            file,
            context,
            self.name(),
            kind,
            Reading::Whole(limit),
            |text, collector| match format {
                Format::InstalledSpecification => parse_gemspec(text, collector),
                Format::GemfileLock => parse_gemfile_lock(text, collector),
            },
        )
    }
}

/// `pkg:gem/name@version`.
fn gem_purl(name: &str, version: &str) -> String {
    language::purl(Ecosystem::Gem, None, name, version)
}

/// The value of `<receiver>.<attribute> = <literal>` on one line, if the line assigns it.
/// `Err` when the line assigns something that is not a string literal.
fn assignment<'a>(line: &'a str, attribute: &str) -> Option<Result<&'a str, String>> {
    let (target, value) = line.trim().split_once('=')?;
    let (receiver, field) = target.trim().split_once('.')?;
    if field != attribute
        || receiver.is_empty()
        || !receiver.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
    {
        return None;
    }
    // `==` is a comparison, not an assignment.
    if value.starts_with('=') {
        return None;
    }
    let value = value.trim();
    let value = value.strip_suffix(".freeze").unwrap_or(value);
    let literal = ['"', '\'']
        .iter()
        .find_map(|&quote| value.strip_prefix(quote)?.strip_suffix(quote))
        .or_else(|| value.strip_prefix("%q{")?.strip_suffix('}'));
    Some(literal.ok_or_else(|| {
        let shown: String = value.chars().take(60).collect();
        format!("{attribute} is not a string literal ({shown}); gemspecs are never evaluated")
    }))
}

/// An installed gemspec: the first `.name =` and `.version =` assignments.
fn parse_gemspec(text: &str, collector: &mut Collector) -> Result<(), String> {
    let mut name = None;
    let mut version = None;
    for line in text.lines() {
        if name.is_none() {
            name = assignment(line, "name");
        }
        if version.is_none() {
            version = assignment(line, "version");
        }
        if name.is_some() && version.is_some() {
            break;
        }
    }
    match (name, version) {
        (Some(name), Some(version)) => {
            collector.add(name?, version?, gem_purl);
            Ok(())
        }
        _ => Err("no name or version assignment in the gemspec".to_string()),
    }
}

/// A `Gemfile.lock`: `    name (version[-platform])` lines under `specs:` in `GEM` and `GIT`.
fn parse_gemfile_lock(text: &str, collector: &mut Collector) -> Result<(), String> {
    let mut in_gem_section = false;
    let mut saw_section = false;
    for line in text.lines() {
        if !line.starts_with(' ') {
            let header = line.trim_end();
            in_gem_section = matches!(header, "GEM" | "GIT");
            saw_section |= matches!(header, "GEM" | "GIT" | "PATH" | "PLATFORMS" | "DEPENDENCIES");
            continue;
        }
        let Some(spec) = line.strip_prefix("    ").filter(|spec| in_gem_section && !spec.starts_with(' ')) else {
            continue;
        };
        let locked = spec.trim_end().split_once(" (").and_then(|(name, rest)| Some((name, rest.strip_suffix(')')?)));
        let Some((name, locked)) = locked else {
            collector
                .problem(format!("a spec line without a (version): {:?}", spec.chars().take(60).collect::<String>()));
            continue;
        };
        // RubyGems versions have no `-`; one separates the platform (`1.13.1-x86_64-linux`).
        let (version, platform) = match locked.split_once('-') {
            Some((version, platform)) => (version, Some(platform)),
            None => (locked, None),
        };
        collector.add_with_arch(name, version, platform, gem_purl);
    }
    if !saw_section && !text.trim().is_empty() {
        collector.problem("no GEM, GIT, PATH, PLATFORMS or DEPENDENCIES section: not a Gemfile.lock");
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
            ("/usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec", true),
            ("/usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec", true),
            ("/var/lib/gems/3.1.0/specifications/rack-2.2.3.gemspec", true),
            ("/srv/app/Gemfile.lock", true),
            ("/srv/app/gems.locked", true),
            // Negatives: a gem's own source gemspec is Ruby to evaluate, not metadata.
            ("/srv/app/myapp.gemspec", false),
            ("/usr/lib/ruby/gems/3.1.0/gems/rake-13.0.6/rake.gemspec", false),
            ("/usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec.bak", false),
            ("/usr/lib/ruby/gems/3.1.0/other/default/json.gemspec", false),
            ("/srv/app/Gemfile", false),
        ];
        for (path, expected) in table {
            assert_eq!(RubyCataloger.wants(&candidate(path)), *expected, "{path}");
        }
    }

    #[test]
    fn installed_gemspecs() {
        let path = "/g/specifications/yaml-0.2.1.gemspec";
        let text = "# stub: yaml 0.2.1 ruby lib\nGem::Specification.new do |s|\n  s.name = \"yaml\".freeze\n  s.version = \"0.2.1\"\n  s.date = \"2022-12-05\"\nend\n";
        let found = catalog(&RubyCataloger, path, text.as_bytes());
        assert_eq!(purls(&found), ["pkg:gem/yaml@0.2.1"]);
        assert_eq!(found.packages[0].evidence, Evidence::Installed);
        let old = "Gem::Specification.new do |s|\n  s.name = %q{rack}\n  s.version = '1.2.0'\nend\n";
        assert_eq!(names(&catalog(&RubyCataloger, path, old.as_bytes())), ["rack@1.2.0"]);
        let constant = "Gem::Specification.new do |spec|\n  spec.name = 'example_app'\n  spec.version = ExampleApp::VERSION\nend\n";
        let found = catalog(&RubyCataloger, path, constant.as_bytes());
        assert!(found.packages.is_empty());
        assert!(found.problems[0].contains("version is not a string literal"), "{:?}", found.problems);
        assert_eq!(catalog(&RubyCataloger, path, b"").problems, ["no name or version assignment in the gemspec"]);
        assert_eq!(
            catalog(&RubyCataloger, path, b"Gem::Specification.new do |s|\n  s.name = \"x\"").problems,
            ["no name or version assignment in the gemspec"]
        );
        assert!(catalog(&RubyCataloger, path, b"\xfe\xff\x00s").problems[0].contains("UTF-8"));
        let huge = catalog(&RubyCataloger, path, &vec![b'#'; 2 * 1024 * 1024]);
        assert_eq!(huge.problems, ["cannot read: file is 2097152 bytes, over the 1048576-byte limit"]);
    }

    #[test]
    fn gemfile_lock_sections() {
        let text = "GIT\n  remote: https://git.example.org/hanami/controller.git\n  revision: 027d\n  specs:\n    hanami-controller (2.0.0.alpha1)\n      rack (~> 2.0)\n\nPATH\n  remote: .\n  specs:\n    myapp (0.1.0)\n\nGEM\n  remote: https://gems.example.org/\n  specs:\n    nokogiri (1.13.1-x86_64-linux)\n      racc (~> 1.4)\n    rack (2.2.3)\n    rack (2.2.3)\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  rack (= 2.2.3)\n\nBUNDLED WITH\n   2.2.28\n";
        let found = catalog(&RubyCataloger, "/app/Gemfile.lock", text.as_bytes());
        assert_eq!(names(&found), ["hanami-controller@2.0.0.alpha1", "nokogiri@1.13.1", "rack@2.2.3"]);
        assert_eq!(found.packages[1].arch.as_deref(), Some("x86_64-linux"));
        assert_eq!(found.packages[0].evidence, Evidence::Declared);
        assert!(found.problems.is_empty());
        assert!(catalog(&RubyCataloger, "/app/Gemfile.lock", b"").packages.is_empty());
        let truncated = catalog(&RubyCataloger, "/app/Gemfile.lock", b"GEM\n  specs:\n    rack (2.2");
        assert!(truncated.packages.is_empty());
        assert_eq!(truncated.problems, ["a spec line without a (version): \"rack (2.2\""]);
        let garbage = catalog(&RubyCataloger, "/app/Gemfile.lock", b"GEM\n    a b (1)\n    ( )\n    x ()\n");
        assert!(garbage.packages.is_empty());
        assert_eq!(garbage.problems.len(), 3, "{:?}", garbage.problems);
        let binary = catalog(&RubyCataloger, "/app/Gemfile.lock", b"\x00\x01\x02 not a lock");
        assert_eq!(binary.problems, ["no GEM, GIT, PATH, PLATFORMS or DEPENDENCIES section: not a Gemfile.lock"]);
    }
}
