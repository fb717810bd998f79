//! Template variables, the arguments a prompt takes.

use serde::{Deserialize, Serialize};

/// A declared variable. Catalog files write variables either as bare names or as
/// objects; both deserialize here, and we always write the object form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Variable {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub required: bool,
    /// Allowed values, offered by `completion/complete`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

/// The two shapes catalog files use for a variable.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
enum VariableRepr {
    /// A bare name; whether it is required is worked out from the template.
    Name(String),
    Object {
        name: String,
        #[serde(default)]
        description: Option<String>,
        #[serde(default)]
        required: Option<bool>,
        #[serde(default, alias = "enum")]
        choices: Option<Vec<String>>,
    },
}

impl<'de> Deserialize<'de> for Variable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DeclaredVariable::deserialize(d).map(|v| v.variable)
    }
}

/// Whether a variable declaration gave `required` explicitly; bare names do not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredVariable {
    pub variable: Variable,
    pub required_explicit: bool,
}

/// On the wire a declaration is what it deserializes from: [`VariableRepr`].
impl utoipa::PartialSchema for DeclaredVariable {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <VariableRepr as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for DeclaredVariable {}

impl<'de> Deserialize<'de> for DeclaredVariable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let repr = VariableRepr::deserialize(d)?;
        let required_explicit = matches!(
            repr,
            VariableRepr::Object {
                required: Some(_),
                ..
            }
        );
        let variable = match repr {
            // A bare name: required-ness is decided from the template later.
            VariableRepr::Name(name) => Variable {
                name,
                description: None,
                required: true,
                choices: Vec::new(),
            },
            VariableRepr::Object {
                name,
                description,
                required,
                choices,
            } => Variable {
                name,
                description,
                required: required.unwrap_or(true),
                choices: choices.unwrap_or_default(),
            },
        };
        Ok(DeclaredVariable {
            variable,
            required_explicit,
        })
    }
}
