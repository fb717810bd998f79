//! The four catalog formats and the file extensions that name them.

/// A catalog file's format, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json,
    Yaml,
    /// YAML front matter between `---` lines; the body is the content.
    Markdown,
    /// The whole file is the content.
    Text,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Json, Format::Yaml, Format::Markdown, Format::Text];

    /// The format of `path` (`.json`, `.yaml`/`.yml`, `.md`/`.markdown`,
    /// `.txt`; any case), or `None` for any other file.
    pub fn of_path(path: &str) -> Option<Format> {
        let (_, ext) = path.rsplit_once('.')?;
        Some(match ext.to_ascii_lowercase().as_str() {
            "json" => Format::Json,
            "yaml" | "yml" => Format::Yaml,
            "md" | "markdown" => Format::Markdown,
            "txt" => Format::Text,
            _ => return None,
        })
    }

    /// The extension an export writes.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Markdown => "md",
            Format::Text => "txt",
        }
    }

    /// `json`, `yaml` (or `yml`), `md` (or `markdown`), `txt` (or `text`).
    pub fn parse(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            "md" | "markdown" => Some(Format::Markdown),
            "txt" | "text" => Some(Format::Text),
            _ => None,
        }
    }
}
