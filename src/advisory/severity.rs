//! Severity of an advisory: a CVSS v3.x or v4.0 base score computed from its vector
//! (with the RustSec `cvss` crate) when the record has one, else the source's own word
//! (GHSA `database_specific.severity`, Ubuntu priority, ALAS severity, Debian urgency),
//! mapped into the bands none 0, low 0.1–3.9, medium 4.0–6.9, high 7.0–8.9, critical
//! 9.0–10.0. Where the severity came from is kept, so reports can say.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// A severity band, ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeverityBand {
    /// No known severity.
    Unknown,
    /// Score 0.
    None,
    /// 0.1–3.9.
    Low,
    /// 4.0–6.9.
    Medium,
    /// 7.0–8.9.
    High,
    /// 9.0–10.0.
    Critical,
}

impl SeverityBand {
    /// The band a CVSS base score falls in.
    pub fn from_score(score: f64) -> SeverityBand {
        if score >= 9.0 {
            SeverityBand::Critical
        } else if score >= 7.0 {
            SeverityBand::High
        } else if score >= 4.0 {
            SeverityBand::Medium
        } else if score > 0.0 {
            SeverityBand::Low
        } else {
            SeverityBand::None
        }
    }

    /// The band a source's word names (`important`, `moderate`, `negligible`, …).
    pub fn from_word(word: &str) -> SeverityBand {
        // Compared case-insensitively in place: findings are ranked by this in sorts.
        const WORDS: [(&str, SeverityBand); 9] = [
            ("critical", SeverityBand::Critical),
            ("high", SeverityBand::High),
            ("important", SeverityBand::High),
            ("medium", SeverityBand::Medium),
            ("moderate", SeverityBand::Medium),
            ("low", SeverityBand::Low),
            ("negligible", SeverityBand::Low),
            ("unimportant", SeverityBand::Low),
            ("none", SeverityBand::None),
        ];
        let word = word.trim();
        WORDS.iter().find(|(name, _)| name.eq_ignore_ascii_case(word)).map_or(SeverityBand::Unknown, |(_, band)| *band)
    }

    /// Lower-case name (`high`).
    pub fn name(self) -> &'static str {
        match self {
            SeverityBand::Unknown => "unknown",
            SeverityBand::None => "none",
            SeverityBand::Low => "low",
            SeverityBand::Medium => "medium",
            SeverityBand::High => "high",
            SeverityBand::Critical => "critical",
        }
    }
}

impl FromStr for SeverityBand {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match SeverityBand::from_word(text) {
            SeverityBand::Unknown if text != "unknown" => {
                Err(format!("unknown severity {text:?} (expected none, low, medium, high or critical)"))
            }
            band => Ok(band),
        }
    }
}

/// A severity and where it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Severity {
    /// The band.
    pub band: SeverityBand,
    /// CVSS base score, when computed from a vector.
    pub score: Option<f64>,
    /// The CVSS vector, when there was one.
    pub vector: Option<String>,
    /// `cvss_v3`, `cvss_v4`, or the source whose word it is (`ghsa`, `ubuntu`, `alas`).
    pub source: String,
}

impl Severity {
    /// Score a CVSS v3.x or v4.0 vector; `None` when the vector does not parse.
    pub fn from_vector(vector: &str) -> Option<Severity> {
        let parsed = cvss::Cvss::from_str(vector.trim()).ok()?;
        let source = match parsed {
            cvss::Cvss::CvssV30(_) | cvss::Cvss::CvssV31(_) => "cvss_v3",
            cvss::Cvss::CvssV40(_) => "cvss_v4",
            _ => return None,
        };
        let score = parsed.score();
        if !score.is_finite() {
            return None;
        }
        Some(Severity {
            band: SeverityBand::from_score(score),
            score: Some(score),
            vector: Some(vector.trim().to_string()),
            source: source.to_string(),
        })
    }

    /// A severity from a source's word; `None` for words we do not know.
    pub fn from_word(word: &str, source: &str) -> Option<Severity> {
        match SeverityBand::from_word(word) {
            SeverityBand::Unknown => None,
            band => Some(Severity { band, score: None, vector: None, source: source.to_string() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_cvss_boundaries() {
        for (score, band) in [
            (0.0, SeverityBand::None),
            (0.1, SeverityBand::Low),
            (3.9, SeverityBand::Low),
            (4.0, SeverityBand::Medium),
            (6.9, SeverityBand::Medium),
            (7.0, SeverityBand::High),
            (8.9, SeverityBand::High),
            (9.0, SeverityBand::Critical),
            (10.0, SeverityBand::Critical),
        ] {
            assert_eq!(SeverityBand::from_score(score), band, "{score}");
        }
    }

    #[test]
    fn scores_vectors() {
        let v31 = Severity::from_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
        assert_eq!((v31.score, v31.band, v31.source.as_str()), (Some(9.8), SeverityBand::Critical, "cvss_v3"));
        let local = Severity::from_vector("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N").unwrap();
        assert_eq!((local.score, local.band), (Some(5.5), SeverityBand::Medium));
        let v4 = Severity::from_vector("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N").unwrap();
        assert_eq!((v4.score, v4.band, v4.source.as_str()), (Some(9.3), SeverityBand::Critical, "cvss_v4"));
        assert!(Severity::from_vector("CVSS:3.1/AV:X").is_none());
        assert!(Severity::from_vector("").is_none());
    }

    #[test]
    fn reads_source_words() {
        assert_eq!(Severity::from_word("MODERATE", "ghsa").unwrap().band, SeverityBand::Medium);
        assert_eq!(Severity::from_word("important", "alas").unwrap().band, SeverityBand::High);
        assert_eq!(Severity::from_word("negligible", "ubuntu").unwrap().band, SeverityBand::Low);
        assert!(Severity::from_word("untriaged", "ubuntu").is_none());
        assert_eq!("high".parse::<SeverityBand>(), Ok(SeverityBand::High));
        assert!("severe".parse::<SeverityBand>().is_err());
    }
}
