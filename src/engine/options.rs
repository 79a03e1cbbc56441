//! What an analysis is asked to do, as plain values: the command layer
//! turns flags into these once (its value parsers check each spec's
//! syntax before any input is read), and a library user fills them in
//! directly, starting from [`Default`].

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::ingest::gosrc::GoArch;

/// Options of one analysis (`bpfcase analyze`). Every field has the
/// command's default; `inputs` is where the case comes from.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Bundles (tar, tar.gz, directories with manifest.json; `-` for stdin)
    /// and loose files: BPF objects, raw BTF, DWARF binaries, Go source,
    /// YAML schemas, bpftool dumps.
    pub inputs: Vec<PathBuf>,
    /// Only these maps (name, or id where several share a name) for layout
    /// cross-checks, dump checks and program-side findings.
    pub maps: Vec<String>,
    /// User-space type compared with the selected map's key type.
    pub key_type: Option<String>,
    /// User-space type compared with the selected map's value type.
    pub value_type: Option<String>,
    /// User type against BTF type, map or no map.
    pub pairs: Vec<TypePair>,
    /// bpftool dumps tied to a map whatever the file is called.
    pub dumps: Vec<DumpTie>,
    /// Buffer sizes a reader passes for per-CPU lookups.
    pub percpu_buffers: Vec<PercpuBuffer>,
    /// Possible CPUs of the node (bundles record it; needed for loose files).
    pub possible_cpus: Option<u32>,
    /// Where to look first for split debug files of user binaries.
    pub debug_dir: Option<PathBuf>,
    /// A growing map is an error when projected full within this.
    pub full_within: Duration,
    /// GOARCH for laying out Go source.
    pub goarch: GoArch,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            inputs: Vec::new(),
            maps: Vec::new(),
            key_type: None,
            value_type: None,
            pairs: Vec::new(),
            dumps: Vec::new(),
            percpu_buffers: Vec::new(),
            possible_cpus: None,
            debug_dir: None,
            full_within: Duration::from_secs(24 * 3600),
            goarch: GoArch::Amd64,
        }
    }
}

impl AnalyzeOptions {
    /// The default options over `inputs`.
    pub fn for_inputs<P: Into<PathBuf>>(inputs: impl IntoIterator<Item = P>) -> Self {
        AnalyzeOptions {
            inputs: inputs.into_iter().map(Into::into).collect(),
            ..AnalyzeOptions::default()
        }
    }

    /// Whether the map `name` (with `id`) is among [`Self::maps`], or no
    /// selection was made.
    pub fn selects(&self, name: &str, id: Option<u32>) -> bool {
        self.maps.is_empty() || self.maps.iter().any(|w| names_map(w, name, id))
    }
}

/// Whether a selector names the map `name` with `id` (by name, or by id
/// where a reload left several maps of one name).
pub fn names_map(selector: &str, name: &str, id: Option<u32>) -> bool {
    name == selector || id.is_some_and(|id| id.to_string() == selector)
}

/// `USER=BTF`: a user-space type compared with a BTF type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypePair {
    pub user: String,
    pub btf: String,
}

/// `MAP=FILE`: a bpftool dump of map MAP (name or id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpTie {
    pub map: String,
    pub file: PathBuf,
}

/// `MAP=BYTES`: the buffer a reader passes for one per-CPU lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PercpuBuffer {
    pub map: String,
    pub bytes: u64,
}

/// Splits `A=B` with both sides non-empty.
fn split_spec<'s>(spec: &'s str, form: &str) -> Result<(&'s str, &'s str), String> {
    spec.split_once('=')
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| format!("{spec:?} is not {form}"))
}

impl FromStr for TypePair {
    type Err = String;
    fn from_str(spec: &str) -> Result<Self, String> {
        let (user, btf) = split_spec(spec, "USER=BTF")?;
        Ok(TypePair {
            user: user.to_string(),
            btf: btf.to_string(),
        })
    }
}

impl FromStr for DumpTie {
    type Err = String;
    fn from_str(spec: &str) -> Result<Self, String> {
        let (map, file) = split_spec(spec, "MAP=FILE")?;
        Ok(DumpTie {
            map: map.to_string(),
            file: PathBuf::from(file),
        })
    }
}

impl FromStr for PercpuBuffer {
    type Err = String;
    fn from_str(spec: &str) -> Result<Self, String> {
        let (map, bytes) = split_spec(spec, "MAP=BYTES")?;
        let bytes = bytes
            .parse::<u64>()
            .map_err(|_| format!("{spec:?} is not MAP=BYTES"))?;
        Ok(PercpuBuffer {
            map: map.to_string(),
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_or_say_what_they_should_be() {
        assert_eq!(
            "flows=/tmp/d.json".parse::<DumpTie>().unwrap(),
            DumpTie {
                map: "flows".into(),
                file: "/tmp/d.json".into()
            }
        );
        assert_eq!(
            "flows=x".parse::<PercpuBuffer>().unwrap_err(),
            "\"flows=x\" is not MAP=BYTES"
        );
        assert!("=struct_x".parse::<TypePair>().is_err());
        assert_eq!("a=b".parse::<TypePair>().unwrap().btf, "b");
    }

    #[test]
    fn selection_by_name_or_id() {
        let mut o = AnalyzeOptions::default();
        assert!(o.selects("x", None));
        o.maps = vec!["12".into()];
        assert!(o.selects("flows", Some(12)));
        assert!(!o.selects("flows", Some(13)));
    }
}
