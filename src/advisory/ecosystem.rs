//! Advisory ecosystems: the names feeds file records under (`Debian:12`, `PyPI`,
//! `Amazon Linux:2023`), which version scheme each uses, how package names are
//! normalised for lookup, and — as the one place that decides it — which ecosystem a
//! detected distro's OS packages belong to.
//!
//! OSV names are used where OSV has them. Amazon Linux has no OSV ecosystem; the ALAS
//! importer files its records under `Amazon Linux:1`, `Amazon Linux:2`,
//! `Amazon Linux:2022` and `Amazon Linux:2023`, and [`Distro::advisory_ecosystem`]
//! returns the same names.

use crate::catalog::Ecosystem;
use crate::distro::Distro;
use crate::version::Scheme;

/// The part of an ecosystem name before the first `:` (`Debian` of `Debian:12`).
pub fn base(ecosystem: &str) -> &str {
    ecosystem.split(':').next().unwrap_or(ecosystem)
}

/// The version scheme of an ecosystem, `None` for one we do not know.
pub fn scheme(ecosystem: &str) -> Option<Scheme> {
    Some(match base(ecosystem) {
        "Debian" | "Ubuntu" => Scheme::Dpkg,
        "Alpine" | "Wolfi" | "Chainguard" => Scheme::Apk,
        "AlmaLinux" | "Rocky Linux" | "Red Hat" | "Amazon Linux" | "openSUSE" | "SUSE" | "Mageia" | "openEuler" => {
            Scheme::Rpm
        }
        "PyPI" => Scheme::Pep440,
        "npm" | "crates.io" | "Hex" | "Pub" | "SwiftURL" => Scheme::Semver,
        "Go" => Scheme::Go,
        "Maven" => Scheme::Maven,
        "RubyGems" => Scheme::Rubygems,
        "NuGet" => Scheme::Nuget,
        "Packagist" => Scheme::Composer,
        _ => return None,
    })
}

/// Normalise a package name for lookup as the ecosystem's registry does: PEP 503 for
/// PyPI, case-insensitive NuGet, Packagist and crates.io; others are exact.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    match base(ecosystem) {
        "PyPI" => {
            let mut normalized = String::with_capacity(name.len());
            let mut previous_separator = false;
            for character in name.trim().chars() {
                if matches!(character, '-' | '_' | '.') {
                    if !previous_separator {
                        normalized.push('-');
                    }
                    previous_separator = true;
                } else {
                    normalized.extend(character.to_lowercase());
                    previous_separator = false;
                }
            }
            normalized
        }
        "NuGet" | "Packagist" | "crates.io" => name.trim().to_lowercase(),
        _ => name.trim().to_string(),
    }
}

/// The advisory ecosystem of a language package (OSV name), `None` for OS packages.
pub fn language_ecosystem(ecosystem: Ecosystem) -> Option<&'static str> {
    Some(match ecosystem {
        Ecosystem::Pypi => "PyPI",
        Ecosystem::Npm => "npm",
        Ecosystem::Maven => "Maven",
        Ecosystem::Golang => "Go",
        Ecosystem::Cargo => "crates.io",
        Ecosystem::Gem => "RubyGems",
        Ecosystem::Composer => "Packagist",
        Ecosystem::Nuget => "NuGet",
        Ecosystem::Deb | Ecosystem::Rpm | Ecosystem::Apk => return None,
    })
}

/// Whether records filed under `candidate` apply to a system whose own ecosystem is
/// `primary` (as [`Distro::advisory_ecosystem`] names it):
///
/// - the same ecosystem;
/// - Red Hat: every stream of the major release, `Red Hat:enterprise_linux:9::appstream`,
///   `…::baseos`, `…::crb` and the rest: an installed package came from one of them and
///   names are unique across them. Extended-support streams (`Red Hat:rhel_eus:9.2::…`,
///   `rhel_aus`, `rhel_e4s`, `rhel_els`) are other products with their own fixed
///   versions; os-release does not say a system subscribes to them, so they never apply;
/// - Ubuntu with `ubuntu_pro`: `Ubuntu:Pro:22.04:LTS` for `Ubuntu:22.04:LTS` (the ESM
///   archives). FIPS streams (`Ubuntu:Pro:FIPS…`) are separate certified packages and
///   never apply.
pub fn applies(primary: &str, candidate: &str, ubuntu_pro: bool) -> bool {
    if candidate == primary {
        return true;
    }
    if primary.starts_with("Red Hat:enterprise_linux:") {
        return candidate.strip_prefix(primary).is_some_and(|stream| stream.starts_with("::"));
    }
    ubuntu_pro && ubuntu_pro_ecosystem(primary).is_some_and(|pro| pro == candidate)
}

/// The Ubuntu Pro ecosystem of an Ubuntu LTS release (`Ubuntu:22.04:LTS` →
/// `Ubuntu:Pro:22.04:LTS`); `None` for anything else (Pro covers LTS releases only).
pub fn ubuntu_pro_ecosystem(primary: &str) -> Option<String> {
    let release = primary.strip_prefix("Ubuntu:")?;
    (release.ends_with(":LTS") && !release.starts_with("Pro:")).then(|| format!("Ubuntu:Pro:{release}"))
}

/// Whether an ecosystem is an Ubuntu Pro one.
pub fn is_ubuntu_pro(ecosystem: &str) -> bool {
    ecosystem.starts_with("Ubuntu:Pro:")
}

impl Distro {
    /// The advisory ecosystem of this distro's OS packages (`Debian:12`,
    /// `Ubuntu:22.04:LTS`, `Alpine:v3.20`, `Rocky Linux:9`, `AlmaLinux:9`,
    /// `Red Hat:enterprise_linux:9`, `Amazon Linux:2023`), or `None` when the release
    /// is unknown (Debian testing, an unknown distro): no guess, so no wrong matches.
    pub fn advisory_ecosystem(&self) -> Option<String> {
        let version = self.version_id.as_deref().filter(|version| !version.is_empty());
        let major = self.major_version();
        match self.id.as_str() {
            "debian" => Some(format!("Debian:{}", major?)),
            "ubuntu" => {
                let version = version?;
                let (year, month) = version.split_once('.')?;
                let year: u32 = year.parse().ok()?;
                // Long-term support releases are the April releases of even years.
                if month == "04" && year % 2 == 0 {
                    Some(format!("Ubuntu:{version}:LTS"))
                } else {
                    Some(format!("Ubuntu:{version}"))
                }
            }
            "alpine" => Some(format!("Alpine:v{}", major?)),
            "rocky" => Some(format!("Rocky Linux:{}", major?)),
            "almalinux" => Some(format!("AlmaLinux:{}", major?)),
            "rhel" => Some(format!("Red Hat:enterprise_linux:{}", major?)),
            "amzn" => {
                let release = match version? {
                    "2" => "2",
                    "2022" => "2022",
                    "2023" => "2023",
                    // Amazon Linux 1 numbers releases by date (2018.03).
                    other if other.starts_with("201") => "1",
                    _ => return None,
                };
                Some(format!("Amazon Linux:{release}"))
            }
            "wolfi" => Some("Wolfi".to_string()),
            "chainguard" => Some("Chainguard".to_string()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distro(id: &str, version: Option<&str>) -> Distro {
        Distro { id: id.to_string(), version_id: version.map(str::to_string), ..Distro::default() }
    }

    #[test]
    fn distro_releases_select_ecosystems() {
        for (id, version, expected) in [
            ("debian", Some("12"), Some("Debian:12")),
            ("debian", Some("11"), Some("Debian:11")),
            ("debian", None, None),
            ("ubuntu", Some("22.04"), Some("Ubuntu:22.04:LTS")),
            ("ubuntu", Some("23.10"), Some("Ubuntu:23.10")),
            ("ubuntu", Some("21.04"), Some("Ubuntu:21.04")),
            ("alpine", Some("3.20.3"), Some("Alpine:v3.20")),
            ("rocky", Some("9.3"), Some("Rocky Linux:9")),
            ("almalinux", Some("8.9"), Some("AlmaLinux:8")),
            ("rhel", Some("9.4"), Some("Red Hat:enterprise_linux:9")),
            ("amzn", Some("2"), Some("Amazon Linux:2")),
            ("amzn", Some("2023"), Some("Amazon Linux:2023")),
            ("amzn", Some("2018.03"), Some("Amazon Linux:1")),
            ("amzn", Some("9999"), None),
            ("gentoo", Some("2.14"), None),
        ] {
            assert_eq!(distro(id, version).advisory_ecosystem().as_deref(), expected, "{id} {version:?}");
        }
    }

    #[test]
    fn red_hat_streams_and_ubuntu_pro_apply_only_as_documented() {
        let rhel9 = "Red Hat:enterprise_linux:9";
        for (candidate, expected) in [
            ("Red Hat:enterprise_linux:9", true),
            ("Red Hat:enterprise_linux:9::appstream", true),
            ("Red Hat:enterprise_linux:9::baseos", true),
            ("Red Hat:enterprise_linux:9::crb", true),
            ("Red Hat:enterprise_linux:8::appstream", false),
            ("Red Hat:enterprise_linux:90::appstream", false),
            ("Red Hat:rhel_eus:9.2::appstream", false),
            ("Red Hat:rhel_aus:8.4::baseos", false),
            ("Rocky Linux:9", false),
        ] {
            assert_eq!(applies(rhel9, candidate, true), expected, "{candidate}");
        }
        let jammy = "Ubuntu:22.04:LTS";
        assert!(applies(jammy, "Ubuntu:22.04:LTS", false));
        assert!(!applies(jammy, "Ubuntu:Pro:22.04:LTS", false));
        assert!(applies(jammy, "Ubuntu:Pro:22.04:LTS", true));
        assert!(!applies(jammy, "Ubuntu:Pro:20.04:LTS", true));
        assert!(!applies(jammy, "Ubuntu:Pro:FIPS:22.04:LTS", true));
        assert!(!applies(jammy, "Ubuntu:Pro:FIPS-updates:22.04:LTS", true));
        assert_eq!(ubuntu_pro_ecosystem("Ubuntu:23.10"), None);
        assert_eq!(ubuntu_pro_ecosystem("Debian:12"), None);
        assert!(!applies("Debian:12", "Debian:12::x", true));
    }

    #[test]
    fn schemes_and_names() {
        assert_eq!(scheme("Debian:12"), Some(Scheme::Dpkg));
        assert_eq!(scheme("Ubuntu:Pro:18.04:LTS"), Some(Scheme::Dpkg));
        assert_eq!(scheme("Amazon Linux:2"), Some(Scheme::Rpm));
        assert_eq!(scheme("crates.io"), Some(Scheme::Semver));
        assert_eq!(scheme("Packagist"), Some(Scheme::Composer));
        assert_eq!(scheme("Bitnami"), None);
        assert_eq!(normalize_name("PyPI", "Foo__Bar.baz"), "foo-bar-baz");
        assert_eq!(normalize_name("PyPI", "jinja2"), normalize_name("PyPI", "Jinja2"));
        assert_eq!(normalize_name("NuGet", "Newtonsoft.Json"), "newtonsoft.json");
        assert_eq!(normalize_name("Maven", "com.google.guava:guava"), "com.google.guava:guava");
        assert_eq!(normalize_name("npm", "@babel/core"), "@babel/core");
    }
}
