//! Made-up secrets of every shape the built-in rules know, assembled at run time so that no
//! credential-looking literal sits in the repository (and no push protection trips on one).

/// A deterministic pseudo-random string of `length` characters from `alphabet`: high entropy,
/// the same on every run.
pub(crate) fn random(alphabet: &str, length: usize, seed: u64) -> String {
    let alphabet: Vec<char> = alphabet.chars().collect();
    let mut state = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (0..length)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            alphabet[((state >> 33) as usize) % alphabet.len()]
        })
        .collect()
}

pub(crate) const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub(crate) const UPPER32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
pub(crate) const BASE64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub(crate) const URLSAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub(crate) const HEX: &str = "0123456789abcdef";
pub(crate) const DIGITS: &str = "0123456789";
pub(crate) const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub(crate) fn uuid(seed: u64) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        random(HEX, 8, seed),
        random(HEX, 4, seed + 1),
        random(HEX, 4, seed + 2),
        random(HEX, 4, seed + 3),
        random(HEX, 12, seed + 4)
    )
}

/// A PEM private key block of made-up base64.
pub(crate) fn private_key(kind: &str, seed: u64) -> String {
    let body: Vec<String> = (0..12)
        .map(|line| random(BASE64, 64, seed + line))
        .collect();
    format!(
        "-----BEGIN {kind}PRIVATE KEY-----\n{}\n-----END {kind}PRIVATE KEY-----",
        body.join("\n")
    )
}

/// Standard base64 of `bytes`, for credentials that providers store encoded.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let word = chunk.iter().enumerate().fold(0u32, |word, (index, &byte)| {
            word | u32::from(byte) << (16 - 8 * index)
        });
        for index in 0..4 {
            if index <= chunk.len() {
                out.push(char::from(
                    ALPHABET[(word >> (18 - 6 * index) & 63) as usize],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A JWT of made-up claims and signature whose header is `header` (JSON).
pub(crate) fn jwt_with_header(header: &str, seed: u64) -> String {
    let url_safe = |text: &str| {
        base64(text.as_bytes())
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_")
    };
    [
        url_safe(header),
        url_safe("{\"sub\":\"1234567890\",\"name\":\"Jo\",\"iat\":1516239022}"),
        random(URLSAFE, 43, seed),
    ]
    .join(".")
}

/// One true positive for a rule: the text of a file holding it.
pub(crate) struct Sample {
    pub(crate) rule: &'static str,
    pub(crate) text: String,
}

/// A true positive for every built-in rule.
pub(crate) fn true_positives() -> Vec<Sample> {
    let jwt = jwt_with_header("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 7);
    let sample = |rule, text: String| Sample { rule, text };
    vec![
        sample(
            "aws-access-key-id",
            format!(
                "export AWS_ACCESS_KEY_ID={}{}\n",
                "AK",
                ["IA", &random(UPPER32, 16, 1)].concat()
            ),
        ),
        sample(
            "aws-secret-access-key",
            format!("aws_secret_access_key = {}\n", random(BASE64, 40, 2)),
        ),
        sample(
            "azure-storage-account-key",
            format!(
                "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={}==;EndpointSuffix=core.windows.net\n",
                random(BASE64, 86, 3)
            ),
        ),
        sample(
            "gcp-api-key",
            format!(
                "const firebase = {{ apiKey: \"{}\" }};\n",
                ["AI", "za", &random(URLSAFE, 35, 4)].concat()
            ),
        ),
        sample(
            "gcp-oauth-client-secret",
            format!(
                "client_secret: {}\n",
                ["GOC", "SPX-", &random(URLSAFE, 28, 5)].concat()
            ),
        ),
        sample(
            "github-pat",
            format!(
                "GITHUB_TOKEN={}\n",
                ["gh", "p_", &random(ALNUM, 36, 6)].concat()
            ),
        ),
        sample(
            "github-fine-grained-pat",
            format!(
                "token: {}\n",
                [
                    "github",
                    "_pat_",
                    &random(ALNUM, 22, 7),
                    "_",
                    &random(ALNUM, 59, 8)
                ]
                .concat()
            ),
        ),
        sample(
            "github-oauth-token",
            format!(
                "auth = '{}'\n",
                ["gh", "o_", &random(ALNUM, 36, 8)].concat()
            ),
        ),
        sample(
            "github-app-token",
            format!("{}\n", ["gh", "s_", &random(ALNUM, 36, 9)].concat()),
        ),
        sample(
            "github-refresh-token",
            format!(
                "refresh={}\n",
                ["gh", "r_", &random(ALNUM, 36, 10)].concat()
            ),
        ),
        sample(
            "gitlab-pat",
            format!(
                "CI_TOKEN=\"{}\"\n",
                ["gl", "pat-", &random(URLSAFE, 20, 11)].concat()
            ),
        ),
        sample(
            "slack-token",
            format!(
                "SLACK_BOT={}\n",
                [
                    "xo",
                    "xb-",
                    &random(DIGITS, 12, 12),
                    "-",
                    &random(DIGITS, 13, 13),
                    "-",
                    &random(ALNUM, 24, 14)
                ]
                .concat()
            ),
        ),
        sample(
            "slack-webhook-url",
            format!(
                "url: https://hooks.slack.com/services/T{}/B{}/{}\n",
                random("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 9, 15),
                random("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 9, 16),
                random(ALNUM, 24, 17)
            ),
        ),
        sample(
            "stripe-api-key",
            format!(
                "stripe.api_key = \"{}\"\n",
                ["sk", "_live_", &random(ALNUM, 24, 18)].concat()
            ),
        ),
        sample(
            "sendgrid-api-key",
            format!(
                "SENDGRID={}\n",
                [
                    "SG",
                    ".",
                    &random(URLSAFE, 22, 19),
                    ".",
                    &random(URLSAFE, 43, 20)
                ]
                .concat()
            ),
        ),
        sample(
            "twilio-api-key",
            format!("TWILIO_API_KEY=SK{}\n", random(HEX, 32, 21)),
        ),
        sample(
            "mailchimp-api-key",
            format!("mailchimp: {}-us12\n", random(HEX, 32, 22)),
        ),
        sample(
            "shopify-token",
            format!(
                "SHOPIFY={}\n",
                ["shp", "at_", &random(HEX, 32, 23)].concat()
            ),
        ),
        sample(
            "digitalocean-token",
            format!(
                "do_token = \"{}\"\n",
                ["do", "p_v1_", &random(HEX, 64, 24)].concat()
            ),
        ),
        sample(
            "npm-access-token",
            format!(
                "//registry.npmjs.org/:_authToken={}\n",
                ["np", "m_", &random(ALNUM, 36, 25)].concat()
            ),
        ),
        sample(
            "pypi-upload-token",
            format!(
                "password = {}\n",
                ["py", "pi-AgEIcHlwaS5vcmc", &random(URLSAFE, 60, 26)].concat()
            ),
        ),
        sample(
            "openai-api-key",
            format!(
                "OPENAI_API_KEY={}\n",
                [
                    "sk-",
                    "proj-",
                    &random(URLSAFE, 24, 27),
                    "T3Blbk",
                    "FJ",
                    &random(URLSAFE, 24, 28)
                ]
                .concat()
            ),
        ),
        sample(
            "anthropic-api-key",
            format!(
                "ANTHROPIC={}\n",
                ["sk-", "ant-api03-", &random(URLSAFE, 93, 29), "AA"].concat()
            ),
        ),
        sample(
            "huggingface-token",
            format!(
                "HF_TOKEN={}\n",
                ["h", "f_", &random(LETTERS, 34, 30)].concat()
            ),
        ),
        sample(
            "telegram-bot-token",
            format!(
                "bot = Bot(\"{}:{}\")\n",
                random(DIGITS, 9, 31),
                ["A", "A", &random(URLSAFE, 33, 32)].concat()
            ),
        ),
        sample("heroku-api-key", format!("HEROKU_API_KEY={}\n", uuid(33))),
        sample(
            "private-key",
            format!("key:\n{}\n", private_key("RSA ", 34)),
        ),
        sample("jwt", format!("Authorization: Bearer {jwt}\n")),
        sample(
            "database-url-with-password",
            format!(
                "DATABASE_URL=postgres://app:{}@db.internal:5432/app\n",
                random(ALNUM, 20, 40)
            ),
        ),
        sample(
            "alibaba-access-key-id",
            format!(
                "ALIBABA_CLOUD_ACCESS_KEY_ID={}\n",
                ["LT", "AI", &random(ALNUM, 20, 60)].concat()
            ),
        ),
        sample(
            "alibaba-access-key-secret",
            format!(
                "alibaba_access_key_secret = \"{}\"\n",
                random(ALNUM, 30, 61)
            ),
        ),
        sample(
            "azure-app-configuration-connection-string",
            format!(
                "\"AppConfig\": \"Endpoint=https://acme.azconfig.io;Id={}-l0-s0:{};Secret={}=\"\n",
                random(ALNUM, 4, 62),
                random(ALNUM, 20, 63),
                random(BASE64, 43, 64)
            ),
        ),
        sample(
            "azure-shared-access-key",
            format!(
                "Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={}=\n",
                random(BASE64, 43, 65)
            ),
        ),
        sample(
            "azure-sas-token",
            format!(
                "url = \"https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01T00:00:00Z&spr=https&sig={}%3D\"\n",
                random(ALNUM, 43, 66)
            ),
        ),
        sample(
            "azure-identifiable-key",
            format!(
                "AZURE_OPENAI_API_KEY={}{}{}{}{}\n",
                random(ALNUM, 52, 67),
                ["JQQJ", "99"].concat(),
                random(ALNUM, 18, 68),
                "ACOG",
                random(ALNUM, 4, 69)
            ),
        ),
        sample(
            "azure-ai-services-key",
            format!("Ocp-Apim-Subscription-Key: {}\n", random(HEX, 32, 70)),
        ),
        sample(
            "azure-container-registry-key",
            format!(
                "ACR_PASSWORD={}{}{}\n",
                random(ALNUM, 42, 71),
                ["+A", "CRB"].concat(),
                random(ALNUM, 5, 72)
            ),
        ),
        sample(
            "azure-container-registry-login",
            format!(
                "docker login acme.azurecr.io -u acme -p {}\n",
                random(BASE64, 32, 73)
            ),
        ),
        sample(
            "azure-container-registry-password",
            format!(
                "{{\"passwords\": [{{\"name\": \"password\",\n  \"value\": \"{}\"}}]}}\n",
                random(BASE64, 32, 102)
            ),
        ),
        sample(
            "azure-entra-client-secret",
            format!(
                "AZURE_CLIENT_SECRET={}8{}{}\n",
                random(ALNUM, 3, 74),
                ["Q", "~"].concat(),
                random(URLSAFE, 34, 75)
            ),
        ),
        sample(
            "gcp-service-account-key",
            format!(
                "  \"private_key\": \"{}\\n\",\n",
                private_key("", 76).replace('\n', "\\n")
            ),
        ),
        sample(
            "gitlab-token",
            format!(
                "DEPLOY_TOKEN={}\n",
                ["gl", "dt-", &random(URLSAFE, 20, 77)].concat()
            ),
        ),
        sample(
            "gitlab-runner-registration-token",
            format!(
                "registration-token: {}\n",
                ["GR", "1348941", &random(URLSAFE, 20, 78)].concat()
            ),
        ),
        sample(
            "slack-app-token",
            format!(
                "SLACK_APP_TOKEN={}\n",
                [
                    "xa",
                    "pp-1-A",
                    &random("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10, 79),
                    "-",
                    &random(DIGITS, 13, 80),
                    "-",
                    &random(HEX, 64, 81)
                ]
                .concat()
            ),
        ),
        sample(
            "docker-hub-token",
            format!(
                "DOCKERHUB_TOKEN={}\n",
                ["dckr", "_pat_", &random(URLSAFE, 27, 82)].concat()
            ),
        ),
        sample(
            "docker-config-auth",
            format!(
                "{{\"auths\": {{\"ghcr.io\": {{\"auth\": \"{}\"}}}}}}\n",
                base64(format!("acme:{}", random(ALNUM, 20, 83)).as_bytes())
            ),
        ),
        sample(
            "kubernetes-docker-config-secret",
            format!(
                "data:\n  .dockerconfigjson: {}\ntype: kubernetes.io/dockerconfigjson\n",
                base64(
                    format!(
                        "{{\"auths\":{{\"ghcr.io\":{{\"auth\":\"{}\"}}}}}}",
                        base64(format!("acme:{}", random(ALNUM, 20, 84)).as_bytes())
                    )
                    .as_bytes()
                )
            ),
        ),
        sample(
            "openai-realtime-client-secret",
            format!(
                "{{\"value\": \"{}\", \"expires_at\": 1756310470}}\n",
                ["e", "k_", &random(HEX, 32, 85)].concat()
            ),
        ),
        sample(
            "putty-private-key",
            format!(
                "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: acme\nPublic-Lines: 2\n{}\n{}\nPrivate-Lines: 1\n{}\nPrivate-MAC: {}\n",
                random(BASE64, 64, 86),
                random(BASE64, 20, 87),
                random(BASE64, 64, 88),
                random(HEX, 64, 89)
            ),
        ),
        sample(
            "generic-api-key",
            format!("API_TOKEN = \"{}\"\n", random(ALNUM, 32, 41)),
        ),
    ]
}

/// Text each rule must not flag: placeholders, wrong lengths, low entropy, missing context.
pub(crate) fn false_positives() -> Vec<(&'static str, String)> {
    vec![
        ("aws-access-key-id", ["AKIA", "IOSFODNN7", "EXAMPLE"].concat()),
        ("aws-access-key-id", ["AKIA", "AAAAAAAAAAAAAAAA"].concat()),
        ("aws-secret-access-key", format!("aws_secret_access_key = {}", ["wJalrXUtnFEMI/K7MDENG/bPxRfiCY", "EXAMPLEKEY"].concat())),
        ("aws-secret-access-key", "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}".to_owned()),
        ("azure-storage-account-key", format!("AccountKey={}==", random(BASE64, 40, 50))),
        ("gcp-api-key", ["AI", "za", &random(URLSAFE, 20, 51)].concat()),
        ("gcp-oauth-client-secret", ["GOC", "SPX-", "short"].concat()),
        ("github-pat", ["gh", "p_", &random(ALNUM, 20, 52)].concat()),
        ("github-fine-grained-pat", ["github", "_pat_", "tooshort"].concat()),
        ("github-oauth-token", ["x", "gh", "o_", &random(ALNUM, 36, 53)].concat()),
        ("github-app-token", ["gh", "s_", &random(ALNUM, 35, 54), "!"].concat()),
        ("github-refresh-token", ["gh", "r_", &random(ALNUM, 35, 55)].concat()),
        ("gitlab-pat", ["gl", "pat-", "xxxxxxxxxxxxxxxxxxxx"].concat()),
        ("slack-token", "xoxb-not-a-real-token".to_owned()),
        ("slack-webhook-url", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX".to_owned()),
        ("stripe-api-key", ["sk", "_live_", "abc"].concat()),
        ("sendgrid-api-key", "SG.short.short".to_owned()),
        ("twilio-api-key", format!("checksum SK{}", random(HEX, 32, 56))),
        ("mailchimp-api-key", format!("{}-us1", "0".repeat(32))),
        ("shopify-token", ["shp", "at_", &"g".repeat(32)].concat()),
        ("digitalocean-token", ["do", "p_v1_", &random(HEX, 63, 57)].concat()),
        ("npm-access-token", "npm_config_cache=/tmp/npm".to_owned()),
        ("pypi-upload-token", ["py", "pi-AgEIcHlwaS5vcmc", "short"].concat()),
        ("openai-api-key", ["sk-", &random(ALNUM, 48, 58)].concat()),
        ("anthropic-api-key", ["sk-", "ant-api03-", "short"].concat()),
        ("huggingface-token", ["h", "f_", &"a".repeat(34)].concat()),
        ("telegram-bot-token", format!("12345:{}", ["A", "A", &random(URLSAFE, 33, 59)].concat())),
        ("heroku-api-key", format!("request-id: {}", uuid(60))),
        ("private-key", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----".to_owned()),
        ("private-key", "-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----".to_owned()),
        ("jwt", ["ey", "JhbGciOiJIUzI1NiJ9"].concat()),
        ("database-url-with-password", "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app".to_owned()),
        ("database-url-with-password", "mysql://root:password@localhost/test".to_owned()),
        ("database-url-with-password", "redis://cache.internal:6379/0".to_owned()),
        ("aws-access-key-id", ["AKIA", &random(UPPER32, 17, 90)].concat()),
        ("alibaba-access-key-id", ["LT", "AI", "short"].concat()),
        ("alibaba-access-key-id", ["LT", "AI", &"a".repeat(20)].concat()),
        ("alibaba-access-key-secret", "access_key_secret = ${ALIBABA_SECRET}".to_owned()),
        ("azure-app-configuration-connection-string", "Endpoint=https://contoso.azconfig.io;Id=xxx;Secret=xxx".to_owned()),
        ("azure-shared-access-key", format!("SharedAccessKey={}=", "a".repeat(43))),
        ("azure-sas-token", format!("https://acme.blob.core.windows.net/c?sig={}", random(ALNUM, 43, 91))),
        ("azure-sas-token", "?sv=2022-11-02&sp=r&sig=short".to_owned()),
        ("azure-identifiable-key", [&random(ALNUM, 52, 92), "JQQJ", "99", "short"].concat()),
        ("azure-ai-services-key", format!("\"Ocp-Apim-Subscription-Key\": \"{}\"", random(HEX, 31, 93))),
        ("azure-container-registry-key", [&random(ALNUM, 42, 94), "+A", "CRZ", &random(ALNUM, 5, 95)].concat()),
        ("azure-container-registry-login", "docker login acme.azurecr.io -u acme -p $ACR_PASSWORD".to_owned()),
        ("azure-container-registry-password", "\"name\": \"password\", \"value\": \"${ACR_PASSWORD}\"".to_owned()),
        ("azure-entra-client-secret", ["abc8", "Q~", &random(URLSAFE, 12, 96)].concat()),
        ("gcp-service-account-key", "\"private_key\": \"-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n\"".to_owned()),
        ("gitlab-token", ["gl", "dt-", "short"].concat()),
        ("gitlab-token", ["gl", "rt-", &"x".repeat(20)].concat()),
        ("gitlab-runner-registration-token", ["GR", "1348941", "short"].concat()),
        ("slack-app-token", "xapp-1-not-a-token".to_owned()),
        ("docker-hub-token", ["dckr", "_pat_", "short"].concat()),
        ("docker-config-auth", format!("{{\"auths\": {{\"ghcr.io\": {{\"auth\": \"{}\"}}}}}}", base64(b"no-password-here"))),
        ("kubernetes-docker-config-secret", format!(".dockerconfigjson: {}", base64(b"{\"credsStore\":\"desktop\"}"))),
        ("openai-api-key", format!("OPENAI_API_KEY=\"{}\"", ["sk-", &random(ALNUM, 30, 97), "-", &random(ALNUM, 17, 98)].concat())),
        ("openai-api-key", ["sk-", &random(ALNUM, 25, 99), "T3Blbk", "FJ", &random(ALNUM, 20, 100)].concat()),
        ("openai-realtime-client-secret", ["e", "k_", &"a".repeat(32)].concat()),
        ("putty-private-key", "PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-Lines: 1\nshort".to_owned()),
        ("jwt", jwt_with_header("{\"typ\":\"JWT\"}", 101)),
        ("generic-api-key", "token = this.refreshToken".to_owned()),
        ("generic-api-key", "password = \"aaaaaaaaaaaaaaaaaaaa\"".to_owned()),
        ("generic-api-key", "secret: ${SECRET_FROM_ENV}".to_owned()),
        ("generic-api-key", "api_key = \"your_api_key_here_123456\"".to_owned()),
    ]
}
