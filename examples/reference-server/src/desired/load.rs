//! Reading desired-state files: TOML (`.toml`) or YAML (`.yaml`, `.yml`),
//! one file or every such file under a directory, merged. An error names
//! the file, the line and column, and the key.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use hotswap_core::domain::ModuleName;
use serde::{Deserialize, Deserializer, de::Error as _};

use super::{Desired, DesiredFile, Located};

/// What is wrong with the files, and where.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LoadError {
    /// The file (or the path given, when no file was read).
    pub(crate) file: PathBuf,
    /// Line and column, from 1, when known.
    pub(crate) position: Option<(usize, usize)>,
    /// The key, `modules.greeter.version`; empty for the whole file.
    pub(crate) key: String,
    /// What is wrong.
    pub(crate) message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

/// Read and merge the desired state of `paths` (files, or directories
/// searched for `.toml`, `.yaml` and `.yml` files), in path order.
pub(crate) fn load(paths: &[PathBuf]) -> Result<Desired, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files)?;
    }
    if files.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(LoadError {
            file: PathBuf::from(names.join(", ")),
            position: None,
            key: String::new(),
            message: "holds no .toml, .yaml or .yml file".into(),
        });
    }
    CONTEXT.with(|c| *c.borrow_mut() = Context::default());
    let mut desired = Desired::default();
    let result = files
        .iter()
        .try_for_each(|(file, format)| read(file, *format, &mut desired));
    CONTEXT.with(|c| *c.borrow_mut() = Context::default());
    result.map(|()| desired)
}

#[derive(Clone, Copy, Debug)]
enum Format {
    Toml,
    Yaml,
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()? {
        "toml" => Some(Format::Toml),
        "yaml" | "yml" => Some(Format::Yaml),
        _ => None,
    }
}

fn collect(path: &Path, out: &mut Vec<(PathBuf, Format)>) -> Result<(), LoadError> {
    let fail = |message: String| LoadError {
        file: path.to_owned(),
        position: None,
        key: String::new(),
        message,
    };
    if !path.is_dir() {
        if !path.exists() {
            return Err(fail("no such file or directory".into()));
        }
        let format =
            format_of(path).ok_or_else(|| fail("is neither .toml nor .yaml/.yml".into()))?;
        out.push((path.to_owned(), format));
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .and_then(|dir| dir.map(|e| e.map(|e| e.path())).collect())
        .map_err(|e| fail(format!("cannot read the directory: {e}")))?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect(&entry, out)?;
        } else if let Some(format) = format_of(&entry) {
            out.push((entry, format));
        }
    }
    Ok(())
}

fn read(file: &Path, format: Format, desired: &mut Desired) -> Result<(), LoadError> {
    let text = std::fs::read_to_string(file).map_err(|e| LoadError {
        file: file.to_owned(),
        position: None,
        key: String::new(),
        message: format!("cannot read: {e}"),
    })?;
    CONTEXT.with(|c| {
        let mut c = c.borrow_mut();
        c.base = file.parent().map(Path::to_owned).unwrap_or_default();
        c.file = file.to_owned();
    });
    let parsed = match format {
        Format::Toml => toml_file(&text),
        Format::Yaml => yaml_file(&text),
    }
    .map_err(|(position, key, message)| LoadError {
        file: file.to_owned(),
        position,
        key,
        message,
    })?;
    for (i, value) in parsed.interfaces.into_iter().enumerate() {
        desired.interfaces.push(Located {
            file: file.to_owned(),
            key: format!("interfaces[{i}]"),
            value,
        });
    }
    for (ModuleKey(name), value) in parsed.modules {
        let key = format!("modules.{name}");
        desired.modules.insert(
            name,
            Located {
                file: file.to_owned(),
                key,
                value,
            },
        );
    }
    Ok(())
}

type Failure = (Option<(usize, usize)>, String, String);

/// The key path of a deserialization error: empty at the root, without
/// the `?` of a map key that could not be read (the message names it).
fn key(path: &serde_path_to_error::Path) -> String {
    let key = path.to_string();
    match key.as_str() {
        "." | "?" => String::new(),
        _ => key.strip_suffix(".?").unwrap_or(&key).to_owned(),
    }
}

fn toml_file(text: &str) -> Result<DesiredFile, Failure> {
    let located = |e: toml::de::Error, key: String| {
        let position = e.span().map(|s| line_column(text, s.start));
        (position, key, e.message().trim().to_owned())
    };
    let de = toml::Deserializer::parse(text).map_err(|e| located(e, String::new()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = key(e.path());
        located(e.into_inner(), key)
    })
}

fn yaml_file(text: &str) -> Result<DesiredFile, Failure> {
    if text.trim().is_empty() {
        return Ok(DesiredFile::default());
    }
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = key(e.path());
        let inner = e.into_inner();
        let position = inner.location().map(|l| (l.line(), l.column()));
        // serde_yaml's message carries the position and its own path;
        // both are given apart.
        let mut message = inner.to_string();
        if let Some((line, column)) = position
            && let Some(m) = message.strip_suffix(&format!(" at line {line} column {column}"))
        {
            message = m.to_owned();
        }
        let root = key.split(['.', '[']).next().unwrap_or_default();
        if let Some((path, m)) = message.split_once(": ")
            && !root.is_empty()
            && path.starts_with(root)
            && !path.contains(' ')
        {
            message = m.to_owned();
        }
        (position, key, message)
    })
}

/// Line and column (from 1, in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// What parsing the current file needs: where relative paths start, and
/// the modules earlier files (and keys) named.
#[derive(Default)]
struct Context {
    base: PathBuf,
    file: PathBuf,
    seen: BTreeMap<ModuleName, PathBuf>,
}

thread_local! {
    static CONTEXT: RefCell<Context> = RefCell::new(Context::default());
}

/// `path` relative to the directory of the file being read.
pub(super) fn resolve(path: &str) -> PathBuf {
    CONTEXT.with(|c| c.borrow().base.join(path))
}

/// A module's name as a key of `modules`: valid, and in no other file.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ModuleKey(ModuleName);

impl<'de> Deserialize<'de> for ModuleKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = ModuleName::new(String::deserialize(d)?).map_err(D::Error::custom)?;
        CONTEXT.with(|c| {
            let mut c = c.borrow_mut();
            if let Some(other) = c.seen.get(&name) {
                let where_ = if *other == c.file {
                    "earlier in this file".to_owned()
                } else {
                    format!("in {}", other.display())
                };
                return Err(D::Error::custom(format!(
                    "module {name} is also described {where_}; describe each module once"
                )));
            }
            let file = c.file.clone();
            c.seen.insert(name.clone(), file);
            Ok(Self(name))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn line_column_counts_from_one_in_characters() {
        let text = "a = 1\nné = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, text.find('=').unwrap() + 8), (2, 4));
        assert_eq!(line_column(text, 999), (3, 1));
    }
}
