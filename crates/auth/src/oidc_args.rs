//! The OIDC flags (`--oidc-issuer`, ...): one definition for `serve` and the
//! Lambda authorizer (which reads the same `MCP_PROMPTS_OIDC_*` variables).

use clap::Args;
use mcp_prompts_engine::domain::Role;

/// Trusting JWTs of an OIDC issuer (e.g. a Cognito user pool).
#[derive(Args, Debug, Clone)]
pub struct OidcArgs {
    /// The issuer (`iss`) whose JWTs are accepted, e.g.
    /// `https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf`.
    #[arg(long, env = "MCP_PROMPTS_OIDC_ISSUER", requires_all = ["oidc_audience", "oidc_jwks"])]
    pub oidc_issuer: Option<String>,
    /// The audience (`aud`) tokens must name (Cognito: the app client id).
    #[arg(long, env = "MCP_PROMPTS_OIDC_AUDIENCE", requires = "oidc_issuer")]
    pub oidc_audience: Option<String>,
    /// The issuer's signing keys: a JWKS URL (`https://…/.well-known/jwks.json`)
    /// or file. Loaded at start, reloaded when a token names an unknown key.
    #[arg(long, env = "MCP_PROMPTS_OIDC_JWKS", requires = "oidc_issuer")]
    pub oidc_jwks: Option<String>,
    /// The claim naming the caller's role (a string or a list; the highest of
    /// reader, editor, admin named wins).
    #[arg(
        long,
        env = "MCP_PROMPTS_OIDC_ROLE_CLAIM",
        default_value = "cognito:groups"
    )]
    pub oidc_role_claim: String,
    /// The role of a valid token whose claim names none.
    #[arg(long, env = "MCP_PROMPTS_OIDC_DEFAULT_ROLE", default_value = "reader",
          value_parser = |s: &str| Role::parse(s).map_err(|e| e.to_string()))]
    pub oidc_default_role: Role,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[arg(long, env = "MCP_PROMPTS_OIDC_LEEWAY_SECS", default_value_t = 60)]
    pub oidc_leeway_secs: u64,
}

impl OidcArgs {
    /// The verifier these flags ask for, its keys loaded (`None` without an issuer).
    #[cfg(not(feature = "oidc"))]
    pub async fn verifier(&self) -> Result<Option<crate::JwtVerifier>, String> {
        match &self.oidc_issuer {
            None => Ok(None),
            Some(_) => Err("--oidc-issuer: this build has no OIDC support; build with \
                 `--features oidc` (the AWS build, `--features aws`, has it)"
                .into()),
        }
    }

    /// The verifier these flags ask for, its keys loaded (`None` without an issuer).
    #[cfg(feature = "oidc")]
    pub async fn verifier(&self) -> Result<Option<crate::JwtVerifier>, String> {
        let (Some(issuer), Some(audience), Some(jwks)) =
            (&self.oidc_issuer, &self.oidc_audience, &self.oidc_jwks)
        else {
            return Ok(None);
        };
        let settings = crate::OidcSettings {
            issuer: issuer.clone(),
            audience: audience.clone(),
            jwks: crate::JwksSource::parse(jwks),
            role_claim: self.oidc_role_claim.clone(),
            default_role: self.oidc_default_role,
            leeway_secs: self.oidc_leeway_secs,
        };
        let verifier = crate::JwtVerifier::new(settings)
            .await
            .map_err(|e| format!("--oidc-jwks {jwks}: {e}"))?;
        Ok(Some(verifier))
    }
}
