//! `slipway keys generate`, `slipway sign` and `slipway verify`: key files, and signatures
//! stored in a registry and checked offline with a key (no transparency log is ever asked).

use std::io::IsTerminal as _;
use std::process::ExitCode;

use bytes::Bytes;
use serde::Serialize;
use slipway_registry::manifest::Descriptor;
use slipway_registry::{Digest, RepositoryName};
use slipway_registry_client::{
    Environment, Referrer, ReferrersSupport, RegistryClient, Transport, find_credentials,
};
use slipway_signing::artifact::{self, Artifact};
use slipway_signing::simple_signing::{self, LegacySignature};
use slipway_signing::{BUNDLE_MEDIA_TYPE, Bundle, KeyError, PublicKey, SigningKey, VerifyError};

use crate::cli::{KeysCommand, SignArgs, VerifyArgs};
use crate::output::{self, Status};
use crate::report::Failure;

/// Where the key password comes from when no one can be asked.
const PASSWORD_VARIABLE: &str = "SLIPWAY_KEY_PASSWORD";

pub(crate) fn keys(command: &KeysCommand, status: Status) -> Result<ExitCode, Failure> {
    let KeysCommand::Generate(args) = command;
    let password = new_password()?;
    let files =
        slipway_signing::write_key_pair(&args.output, password.as_bytes()).map_err(key_failure)?;
    status.line(format!(
        "{} wrote {} (private, encrypted) and {} (public)",
        output::ok("✓"),
        files.private_key.display(),
        files.public_key.display()
    ));
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn sign(args: &SignArgs, status: Status) -> Result<ExitCode, Failure> {
    let password = password(&format!("Password for {}: ", args.key.display()))?;
    let key = SigningKey::read(&args.key, password.as_bytes()).map_err(key_failure)?;
    let image = ImageRef::parse(&args.image)?;
    let client = image.client(args.insecure).await?;
    let subject = client
        .manifest_descriptor(&image.repository, &image.reference)
        .await
        .map_err(|error| client_failure(&image, error))?;
    let name = image.name();
    if args.legacy {
        let signed = simple_signing::sign(&key, &name, &subject.digest).map_err(key_failure)?;
        add_legacy_signature(&client, &image, &subject.digest, signed).await?;
        status.line(format!(
            "{} signed {name}@{} (legacy signature, tag {})",
            output::ok("✓"),
            subject.digest,
            artifact::legacy_tag(&subject.digest)
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let bundle = slipway_signing::sign_image(&key, &name, &subject.digest).map_err(key_failure)?;
    let created = jiff::Timestamp::now().to_string();
    let stored = artifact::bundle_manifest(&bundle, subject.clone(), &created);
    let referrer = referrer(&stored, BUNDLE_MEDIA_TYPE);
    let support = client
        .attach_referrer(&image.repository, &subject.digest, &referrer)
        .await
        .map_err(|error| client_failure(&image, error))?;
    status.line(format!(
        "{} signed {name}@{} (bundle {}, {})",
        output::ok("✓"),
        subject.digest,
        referrer.descriptor.digest,
        found_by(support)
    ));
    Ok(ExitCode::SUCCESS)
}

/// A signature found for the image and the verdict on it.
#[derive(Debug, Serialize)]
struct Checked {
    /// `bundle` or `legacy`.
    kind: &'static str,
    /// The manifest holding it.
    manifest: String,
    /// How it was found: `referrers API`, `fallback tag`, `legacy .sig tag`.
    found_by: &'static str,
    verified: bool,
    /// Why it does not verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Debug, Serialize)]
struct Verdict {
    image: String,
    digest: String,
    key: String,
    verified: bool,
    signatures: Vec<Checked>,
}

pub(crate) async fn verify(args: &VerifyArgs, status: Status) -> Result<ExitCode, Failure> {
    let key = PublicKey::read(&args.key).map_err(key_failure)?;
    let image = ImageRef::parse(&args.image)?;
    let client = image.client(args.insecure).await?;
    let subject = client
        .manifest_descriptor(&image.repository, &image.reference)
        .await
        .map_err(|error| client_failure(&image, error))?;
    let mut signatures = check_bundles(&client, &image, &key, &subject.digest).await?;
    signatures.extend(check_legacy(&client, &image, &key, &subject.digest).await?);
    let verdict = Verdict {
        image: image.name(),
        digest: subject.digest.to_string(),
        key: key.key_id(),
        verified: signatures.iter().any(|checked| checked.verified),
        signatures,
    };
    if args.json {
        output::print_json(&verdict)?;
    } else {
        for checked in &verdict.signatures {
            status.line(describe(checked));
        }
    }
    if verdict.verified {
        if !args.json {
            output::print_line(&format!(
                "{} {}@{} is signed by {}",
                output::ok("✓"),
                verdict.image,
                verdict.digest,
                args.key.display()
            ));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let cause = if verdict.signatures.is_empty() {
        "no signature was found (referrers, fallback tag, legacy .sig tag)".to_owned()
    } else {
        format!(
            "{} signature(s) found, none verifies",
            verdict.signatures.len()
        )
    };
    Err(Failure::new(format!(
        "no signature of {}@{} verifies with {}",
        verdict.image,
        verdict.digest,
        args.key.display()
    ))
    .cause(cause)
    .hint("sign it with the matching private key (`slipway sign IMAGE --key cosign.key`), or give the public key it was signed with"))
}

fn describe(checked: &Checked) -> String {
    let what = format!(
        "{} {} ({})",
        checked.kind, checked.manifest, checked.found_by
    );
    match &checked.reason {
        None => format!("{} {what}: verified", output::ok("✓")),
        Some(reason) => format!("{} {what}: {reason}", output::bad("✗")),
    }
}

/// Every bundle referring to `subject`, checked.
async fn check_bundles(
    client: &RegistryClient,
    image: &ImageRef,
    key: &PublicKey,
    subject: &Digest,
) -> Result<Vec<Checked>, Failure> {
    let (support, listed) = client
        .referrers(&image.repository, subject, Some(BUNDLE_MEDIA_TYPE))
        .await
        .map_err(|error| client_failure(image, error))?;
    let mut checked = Vec::new();
    for descriptor in listed {
        let outcome = match read_bundle(client, image, &descriptor.digest).await {
            Ok(bundle) => bundle.verify(key, subject).map(|_| ()),
            Err(reason) => Err(reason),
        };
        checked.push(Checked {
            kind: "bundle",
            manifest: descriptor.digest.to_string(),
            found_by: found_by(support),
            verified: outcome.is_ok(),
            reason: outcome.err().map(|error| error.to_string()),
        });
    }
    Ok(checked)
}

/// The bundle a referrer manifest carries; what went wrong reading it is a reason it does not
/// verify, not the end of the verification.
async fn read_bundle(
    client: &RegistryClient,
    image: &ImageRef,
    manifest: &Digest,
) -> Result<Bundle, VerifyError> {
    let unreadable = |reason: String| VerifyError::Malformed {
        what: "referrer",
        reason,
    };
    let (_, bytes) = client
        .manifest_if_present(&image.repository, &manifest.to_string())
        .await
        .map_err(|error| unreadable(error.to_string()))?
        .ok_or_else(|| unreadable("the manifest is gone".to_owned()))?;
    let layer = artifact::bundle_layer(&bytes)
        .ok_or_else(|| unreadable("no bundle layer in the manifest".to_owned()))?;
    let json = client
        .fetch_blob(&image.repository, &layer.digest)
        .await
        .map_err(|error| unreadable(error.to_string()))?;
    Bundle::from_json(&json)
}

/// Every legacy signature of `subject`, checked: those of the `.sig` manifest and those still
/// only under their own tags (see [`add_legacy_signature`]).
async fn check_legacy(
    client: &RegistryClient,
    image: &ImageRef,
    key: &PublicKey,
    subject: &Digest,
) -> Result<Vec<Checked>, Failure> {
    let (_, signatures) = known_legacy_signatures(client, image, subject).await?;
    Ok(signatures
        .iter()
        .map(|signed| {
            let outcome = signed.verify(key, subject);
            Checked {
                kind: "legacy",
                manifest: artifact::legacy_tag(subject),
                found_by: "legacy .sig tag",
                verified: outcome.is_ok(),
                reason: outcome.err().map(|error| error.to_string()),
            }
        })
        .collect())
}

/// The signatures in the manifest `tag` names; none when there is no such tag.
async fn signatures_at(
    client: &RegistryClient,
    image: &ImageRef,
    tag: &str,
) -> Result<Vec<LegacySignature>, Failure> {
    let Some((_, manifest)) = client
        .manifest_while_written(&image.repository, tag)
        .await
        .map_err(|error| client_failure(image, error))?
    else {
        return Ok(Vec::new());
    };
    let mut signatures = Vec::new();
    for (layer, signature) in artifact::legacy_signatures(&manifest) {
        let payload = client
            .fetch_blob(&image.repository, &layer.digest)
            .await
            .map_err(|error| client_failure(image, error))?;
        signatures.push(LegacySignature {
            payload: payload.to_vec(),
            signature,
        });
    }
    Ok(signatures)
}

/// The signatures the `.sig` manifest of `subject` holds, and every known legacy signature of
/// it: those, then those under a signature's own tag that the manifest lacks.
async fn known_legacy_signatures(
    client: &RegistryClient,
    image: &ImageRef,
    subject: &Digest,
) -> Result<(Vec<LegacySignature>, Vec<LegacySignature>), Failure> {
    let shared = signatures_at(client, image, &artifact::legacy_tag(subject)).await?;
    let mut known = shared.clone();
    let tags = client
        .tags(&image.repository)
        .await
        .map_err(|error| client_failure(image, error))?;
    for tag in tags
        .iter()
        .filter(|tag| artifact::is_own_legacy_tag(subject, tag))
    {
        for signed in signatures_at(client, image, tag).await? {
            if !known.contains(&signed) {
                known.push(signed);
            }
        }
    }
    Ok((shared, known))
}

/// How many times the `.sig` manifest is written again when a concurrent signer replaced it.
const LEGACY_ROUNDS: usize = 10;

/// Adds `signed` to the legacy signatures of `subject` without losing one another signer adds
/// at the same moment, as `slipway-registry-client` does for referrers: the signature first
/// gets a `.sig` manifest and tag of its own that no other signer writes; then, until the shared
/// `.sig` manifest (what cosign reads) holds every signature under any own tag, it is rewritten
/// with all of them. Whoever writes it last reads the tags back after that write, so it ends
/// up whole.
async fn add_legacy_signature(
    client: &RegistryClient,
    image: &ImageRef,
    subject: &Digest,
    signed: LegacySignature,
) -> Result<(), Failure> {
    let own = artifact::legacy_manifest(std::slice::from_ref(&signed));
    let own_tag = artifact::own_legacy_tag(subject, &own.digest());
    push_artifact(client, image, &own_tag, own).await?;
    let tag = artifact::legacy_tag(subject);
    for _ in 0..LEGACY_ROUNDS {
        let (shared, known) = known_legacy_signatures(client, image, subject).await?;
        if known.iter().all(|signature| shared.contains(signature)) {
            return Ok(());
        }
        push_artifact(client, image, &tag, artifact::legacy_manifest(&known)).await?;
    }
    // The signature is stored under its own tag, where `slipway verify` finds it; the next
    // signer's write completes the shared manifest.
    tracing::warn!(%tag, "the legacy signature manifest kept changing; left to the next signer");
    Ok(())
}

/// Stores `stored` and its blobs under `tag`.
async fn push_artifact(
    client: &RegistryClient,
    image: &ImageRef,
    tag: &str,
    stored: Artifact,
) -> Result<(), Failure> {
    let blobs: Vec<Bytes> = stored.blobs.into_iter().map(Bytes::from).collect();
    client
        .push_manifest(
            &image.repository,
            tag,
            stored.media_type,
            Bytes::from(stored.manifest),
            &blobs,
        )
        .await
        .map_err(|error| client_failure(image, error))?;
    Ok(())
}

fn referrer(stored: &Artifact, artifact_type: &str) -> Referrer {
    let descriptor: Descriptor = stored.descriptor(Some(artifact_type));
    Referrer {
        descriptor,
        manifest: Bytes::from(stored.manifest.clone()),
        blobs: stored.blobs.iter().cloned().map(Bytes::from).collect(),
    }
}

fn found_by(support: ReferrersSupport) -> &'static str {
    match support {
        ReferrersSupport::Api => "referrers API",
        ReferrersSupport::FallbackTag => "fallback tag",
    }
}

/// An image named with its registry: `HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]`.
#[derive(Debug)]
struct ImageRef {
    host: String,
    repository: RepositoryName,
    /// A tag or `sha256:...`.
    reference: String,
}

impl ImageRef {
    fn parse(text: &str) -> Result<ImageRef, Failure> {
        let invalid = |reason: String| {
            Failure::bad_input(format!("image `{text}`: {reason}")).hint(
                "name the image with its registry: HOST[:PORT]/REPOSITORY[:TAG|@DIGEST], e.g. 127.0.0.1:5000/shop/web:1.4.0 for `slipway registry serve`",
            )
        };
        let (host, rest) = text
            .split_once('/')
            .filter(|(host, _)| host.contains('.') || host.contains(':') || *host == "localhost")
            .ok_or_else(|| invalid("no registry host".to_owned()))?;
        let (repository, reference) = match rest.split_once('@') {
            Some((repository, digest)) => {
                let digest: Digest = digest
                    .parse()
                    .map_err(|error| invalid(format!("{error}")))?;
                (repository, digest.to_string())
            }
            None => {
                let (repository, tag) = super::push::split_reference(rest);
                (repository, tag.to_owned())
            }
        };
        let repository = repository
            .parse()
            .map_err(|error| invalid(format!("{error}")))?;
        Ok(ImageRef {
            host: host.to_owned(),
            repository,
            reference,
        })
    }

    /// `HOST/REPOSITORY`, what signatures name.
    fn name(&self) -> String {
        format!("{}/{}", self.host, self.repository)
    }

    /// A client for the image's registry with the credentials the user keeps for it; plain
    /// HTTP when asked, or on loopback (as Docker treats localhost registries).
    async fn client(&self, insecure: bool) -> Result<RegistryClient, Failure> {
        let hostname = self
            .host
            .rsplit_once(':')
            .map_or(self.host.as_str(), |(name, _)| name);
        let loopback =
            hostname == "localhost" || hostname.starts_with("127.") || hostname == "[::1]";
        let transport = if insecure || loopback {
            Transport::Http
        } else {
            Transport::Https
        };
        let credentials = find_credentials(
            &Environment::from_process(),
            &self.host,
            &self.repository.to_string(),
        )
        .await
        .map_err(|error| {
            Failure::bad_input(error.to_string()).hint(
                "fix or remove that entry, or log in again to rewrite it (`docker login`, `podman login`)",
            )
        })?;
        RegistryClient::new(&self.host, transport, credentials).map_err(|error| {
            super::push::client_failure(error, &self.host, transport == Transport::Http)
        })
    }
}

fn client_failure(image: &ImageRef, error: slipway_registry_client::ClientError) -> Failure {
    match error {
        // The image names its registry itself: slipway.toml has nothing to do with it.
        slipway_registry_client::ClientError::Unreachable { .. } => Failure::new(error.to_string())
            .hint(format!(
                "check that a registry answers at {}; one serving plain HTTP needs --insecure",
                image.host
            )),
        error => super::push::client_failure(error, &image.host, false),
    }
}

/// A key error with its fix; a wrong password or key file is bad input.
fn key_failure(error: KeyError) -> Failure {
    let hint = error.hint();
    match error {
        KeyError::Random | KeyError::Write { .. } => Failure::new(error.to_string()).hint(hint),
        _ => Failure::bad_input(error.to_string()).hint(hint),
    }
}

/// The key password: `SLIPWAY_KEY_PASSWORD`, else asked on the terminal.
fn password(prompt: &str) -> Result<String, Failure> {
    if let Ok(password) = std::env::var(PASSWORD_VARIABLE) {
        return Ok(password);
    }
    ask(prompt)
}

/// A new key's password: `SLIPWAY_KEY_PASSWORD`, else asked twice on the terminal.
fn new_password() -> Result<String, Failure> {
    if let Ok(password) = std::env::var(PASSWORD_VARIABLE) {
        return Ok(password);
    }
    let first = ask("Password for the new key: ")?;
    if ask("Password again: ")? != first {
        return Err(Failure::bad_input("the two passwords differ")
            .hint("generate again and type the same password twice"));
    }
    Ok(first)
}

fn ask(prompt: &str) -> Result<String, Failure> {
    let no_terminal = || {
        Failure::bad_input(
            "no password: SLIPWAY_KEY_PASSWORD is not set and there is no terminal to ask on",
        )
        .hint(format!("set {PASSWORD_VARIABLE} (in CI, from a secret)"))
    };
    if !std::io::stdin().is_terminal() {
        return Err(no_terminal());
    }
    rpassword::prompt_password(prompt).map_err(|_| no_terminal())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_name_host_repository_and_tag_or_digest() {
        let tagged = ImageRef::parse("127.0.0.1:5000/shop/web:1.4.0").unwrap();
        assert_eq!(
            (
                tagged.host.as_str(),
                tagged.repository.to_string().as_str(),
                tagged.reference.as_str()
            ),
            ("127.0.0.1:5000", "shop/web", "1.4.0")
        );
        let digest = Digest::sha256(b"x");
        let pinned = ImageRef::parse(&format!("registry.example.com/web@{digest}")).unwrap();
        assert_eq!(pinned.reference, digest.to_string());
        assert_eq!(
            ImageRef::parse("localhost:5000/web").unwrap().reference,
            "latest"
        );
        assert!(
            ImageRef::parse("shop/web:1").is_err(),
            "a reference without a registry"
        );
    }
}
