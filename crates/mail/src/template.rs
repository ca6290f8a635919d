//! E-mail templates: a small mustache-like language, compiled once at start-up and rendered by
//! a pure function.
//!
//! Grammar (everything else is literal text):
//!
//! ```text
//! {{name}}              the value of a placeholder ({{ name }} with spaces works too)
//! {{#name}}…{{/name}}   the enclosed text, only if the value is not empty
//! {{^name}}…{{/name}}   the enclosed text, only if the value is empty
//! ```
//!
//! Placeholders: `appName`, `link`, `email`, `username`. An unknown name, an unclosed `{{` or
//! an unbalanced section is a compile error, so a typo fails at start-up instead of reaching
//! users. Values are inserted as they are into text bodies and HTML-escaped into HTML bodies;
//! line breaks in a rendered subject become spaces.

use std::fmt;

/// Which account e-mail a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailKind {
    /// "Please verify your e-mail": sent on sign-up and on `verificationEmailRequest`.
    Verification,
    /// "Password Reset": sent on `requestPasswordReset`.
    PasswordReset,
}

impl EmailKind {
    /// The key under `templates` that customises this kind (parse-server adapters' names).
    pub fn template_key(self) -> &'static str {
        match self {
            EmailKind::Verification => "verificationEmail",
            EmailKind::PasswordReset => "passwordResetEmail",
        }
    }
}

impl fmt::Display for EmailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.template_key())
    }
}

/// The per-message values a template may use. `appName` comes from the configuration.
/// An empty string counts as absent for `{{#…}}` sections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailVars {
    /// The verification or reset link (see [`crate::verify_email_link`] and
    /// [`crate::password_reset_link`]).
    pub link: String,
    /// The user's `email` field.
    pub email: String,
    /// The user's `username` field.
    pub username: String,
}

/// A rendered message, ready to be addressed and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    /// The subject line (one line).
    pub subject: String,
    /// The `text/plain` body.
    pub text: String,
    /// The `text/html` body, if the template has one (then the message is
    /// `multipart/alternative`).
    pub html: Option<String>,
}

/// The placeholders a template may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    AppName,
    Link,
    Email,
    Username,
}

impl Var {
    const NAMES: &'static str = "appName, link, email, username";

    fn from_name(name: &str) -> Option<Var> {
        match name {
            "appName" => Some(Var::AppName),
            "link" => Some(Var::Link),
            "email" => Some(Var::Email),
            "username" => Some(Var::Username),
            _ => None,
        }
    }

    fn value<'a>(self, app_name: &'a str, vars: &'a EmailVars) -> &'a str {
        match self {
            Var::AppName => app_name,
            Var::Link => &vars.link,
            Var::Email => &vars.email,
            Var::Username => &vars.username,
        }
    }
}

/// How placeholder values are written into the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    /// Text bodies: as they are.
    None,
    /// HTML bodies: `& < > " '` escaped.
    Html,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Text(String),
    Var(Var),
    /// `{{#var}}` (inverted = false) or `{{^var}}` (inverted = true).
    Section {
        var: Var,
        inverted: bool,
        body: Vec<Node>,
    },
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    nodes: Vec<Node>,
}

impl Template {
    /// Compiles template source; the error says what is wrong and where (byte offset).
    pub fn compile(source: &str) -> Result<Template, String> {
        let mut parser = Parser { source, pos: 0 };
        let nodes = parser.parse_nodes(None)?;
        Ok(Template { nodes })
    }

    fn render(&self, app_name: &str, vars: &EmailVars, escape: Escape) -> String {
        let mut out = String::new();
        render_nodes(&self.nodes, app_name, vars, escape, &mut out);
        out
    }
}

struct Parser<'a> {
    source: &'a str,
    pos: usize,
}

impl Parser<'_> {
    /// Parses until the end of input (`open` = None) or until `{{/name}}` closing `open`.
    fn parse_nodes(&mut self, open: Option<(Var, &str, usize)>) -> Result<Vec<Node>, String> {
        let mut nodes = Vec::new();
        loop {
            let rest = &self.source[self.pos..];
            let Some(start) = rest.find("{{") else {
                if !rest.is_empty() {
                    nodes.push(Node::Text(rest.to_owned()));
                }
                self.pos = self.source.len();
                return match open {
                    None => Ok(nodes),
                    Some((_, name, at)) => Err(format!("section {{{{#{name}}}}} at {at} is never closed")),
                };
            };
            if start > 0 {
                nodes.push(Node::Text(rest[..start].to_owned()));
            }
            let tag_at = self.pos + start;
            let after_open = tag_at + 2;
            let Some(len) = self.source[after_open..].find("}}") else {
                return Err(format!("unclosed {{{{ at {tag_at}"));
            };
            let inner = self.source[after_open..after_open + len].trim();
            self.pos = after_open + len + 2;
            let (sigil, name) = match inner.chars().next() {
                Some(c @ ('#' | '^' | '/')) => (Some(c), inner[1..].trim()),
                _ => (None, inner),
            };
            let var = Var::from_name(name).ok_or_else(|| {
                format!("unknown placeholder {{{{{inner}}}}} at {tag_at} (known: {})", Var::NAMES)
            })?;
            match sigil {
                None => nodes.push(Node::Var(var)),
                Some('/') => {
                    return match open {
                        Some((open_var, _, _)) if open_var == var => Ok(nodes),
                        Some((_, open_name, at)) => Err(format!(
                            "{{{{/{name}}}}} at {tag_at} closes {{{{#{open_name}}}}} opened at {at}"
                        )),
                        None => Err(format!("{{{{/{name}}}}} at {tag_at} closes no section")),
                    };
                }
                Some(c) => {
                    let body = self.parse_nodes(Some((var, name, tag_at)))?;
                    nodes.push(Node::Section { var, inverted: c == '^', body });
                }
            }
        }
    }
}

fn render_nodes(nodes: &[Node], app_name: &str, vars: &EmailVars, escape: Escape, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Var(var) => push_escaped(out, var.value(app_name, vars), escape),
            Node::Section { var, inverted, body } => {
                if var.value(app_name, vars).is_empty() == *inverted {
                    render_nodes(body, app_name, vars, escape, out);
                }
            }
        }
    }
}

fn push_escaped(out: &mut String, value: &str, escape: Escape) {
    match escape {
        Escape::None => out.push_str(value),
        Escape::Html => {
            for c in value.chars() {
                match c {
                    '&' => out.push_str("&amp;"),
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '"' => out.push_str("&quot;"),
                    '\'' => out.push_str("&#39;"),
                    c => out.push(c),
                }
            }
        }
    }
}

/// Subject, text and optional HTML of one kind of e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailTemplate {
    /// The subject line.
    pub subject: Template,
    /// The `text/plain` body.
    pub text: Template,
    /// The `text/html` body; without one the message is plain text only.
    pub html: Option<Template>,
}

impl EmailTemplate {
    /// parse-server's built-in template for `kind` (`UserController.defaultVerificationEmail`
    /// and `defaultResetPasswordEmail`, word for word).
    pub fn default_for(kind: EmailKind) -> EmailTemplate {
        let (subject, text) = match kind {
            EmailKind::Verification => (
                "Please verify your e-mail for {{appName}}",
                "Hi,\n\nYou are being asked to confirm the e-mail address {{email}} with {{appName}}\n\n\
                 Click here to confirm it:\n{{link}}",
            ),
            EmailKind::PasswordReset => (
                "Password Reset for {{appName}}",
                "Hi,\n\nYou requested to reset your password for {{appName}}\
                 {{#username}} (your username is '{{username}}'){{/username}}.\n\n\
                 Click here to reset it:\n{{link}}",
            ),
        };
        EmailTemplate { subject: compile_builtin(subject), text: compile_builtin(text), html: None }
    }
}

fn compile_builtin(source: &str) -> Template {
    match Template::compile(source) {
        Ok(template) => template,
        // The built-in sources are constants covered by the unit tests below.
        Err(error) => unreachable!("built-in template does not compile: {error}"),
    }
}

/// The templates of both kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    /// Used by [`EmailKind::Verification`].
    pub verification: EmailTemplate,
    /// Used by [`EmailKind::PasswordReset`].
    pub password_reset: EmailTemplate,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            verification: EmailTemplate::default_for(EmailKind::Verification),
            password_reset: EmailTemplate::default_for(EmailKind::PasswordReset),
        }
    }
}

impl Templates {
    /// The template of one kind.
    pub fn get(&self, kind: EmailKind) -> &EmailTemplate {
        match kind {
            EmailKind::Verification => &self.verification,
            EmailKind::PasswordReset => &self.password_reset,
        }
    }

    pub(crate) fn get_mut(&mut self, kind: EmailKind) -> &mut EmailTemplate {
        match kind {
            EmailKind::Verification => &mut self.verification,
            EmailKind::PasswordReset => &mut self.password_reset,
        }
    }
}

/// Renders one e-mail: the pure function behind every message the mailer sends.
pub fn render(template: &EmailTemplate, app_name: &str, vars: &EmailVars) -> RenderedEmail {
    RenderedEmail {
        // One line, whatever the template or the values hold.
        subject: template.subject.render(app_name, vars, Escape::None).replace(['\r', '\n'], " "),
        text: template.text.render(app_name, vars, Escape::None),
        html: template.html.as_ref().map(|html| html.render(app_name, vars, Escape::Html)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(email: &str, username: &str, link: &str) -> EmailVars {
        EmailVars { link: link.to_owned(), email: email.to_owned(), username: username.to_owned() }
    }

    fn compile(source: &str) -> Template {
        Template::compile(source).unwrap()
    }

    #[test]
    fn default_verification_matches_parse_server() {
        let template = EmailTemplate::default_for(EmailKind::Verification);
        let out = render(&template, "My App", &vars("a@b.co", "alice", "https://x/verify?token=t"));
        assert_eq!(out.subject, "Please verify your e-mail for My App");
        assert_eq!(
            out.text,
            "Hi,\n\nYou are being asked to confirm the e-mail address a@b.co with My App\n\n\
             Click here to confirm it:\nhttps://x/verify?token=t"
        );
        assert_eq!(out.html, None);
    }

    #[test]
    fn default_password_reset_matches_parse_server() {
        let template = EmailTemplate::default_for(EmailKind::PasswordReset);
        let out = render(&template, "My App", &vars("a@b.co", "alice", "https://x/reset?token=t"));
        assert_eq!(out.subject, "Password Reset for My App");
        assert_eq!(
            out.text,
            "Hi,\n\nYou requested to reset your password for My App (your username is 'alice').\n\n\
             Click here to reset it:\nhttps://x/reset?token=t"
        );
        let out = render(&template, "My App", &vars("a@b.co", "", "L"));
        assert_eq!(
            out.text,
            "Hi,\n\nYou requested to reset your password for My App.\n\nClick here to reset it:\nL"
        );
    }

    #[test]
    fn placeholders_with_spaces_and_sections() {
        let t = compile("[{{ appName }}|{{#email}}e={{email}}{{/email}}{{^email}}no email{{/ email }}]");
        assert_eq!(t.render("A", &vars("x@y", "", ""), Escape::None), "[A|e=x@y]");
        assert_eq!(t.render("A", &vars("", "", ""), Escape::None), "[A|no email]");
    }

    #[test]
    fn nested_sections() {
        let t = compile("{{#email}}E{{#username}}U{{/username}}{{/email}}");
        assert_eq!(t.render("", &vars("e", "u", ""), Escape::None), "EU");
        assert_eq!(t.render("", &vars("e", "", ""), Escape::None), "E");
        assert_eq!(t.render("", &vars("", "u", ""), Escape::None), "");
    }

    #[test]
    fn html_values_are_escaped_but_template_text_is_not() {
        let template = EmailTemplate {
            subject: compile("Hi {{username}}"),
            text: compile("{{username}}"),
            html: Some(compile("<p>{{username}}</p><a href=\"{{link}}\">go</a>")),
        };
        let out = render(&template, "A", &vars("", "<b>&'\"", "https://x/?a=1&b=2"));
        assert_eq!(out.text, "<b>&'\"");
        assert_eq!(
            out.html.unwrap(),
            "<p>&lt;b&gt;&amp;&#39;&quot;</p><a href=\"https://x/?a=1&amp;b=2\">go</a>"
        );
    }

    #[test]
    fn subject_values_lose_line_breaks() {
        let template =
            EmailTemplate { subject: compile("Hello {{username}}"), text: compile(""), html: None };
        let out = render(&template, "A", &vars("", "a\r\nBcc: x@y", ""));
        assert_eq!(out.subject, "Hello a  Bcc: x@y");
    }

    #[test]
    fn literal_braces_and_unicode_pass_through() {
        let t = compile("{ } }} é {{appName}} ✓");
        assert_eq!(t.render("Café", &EmailVars::default(), Escape::None), "{ } }} é Café ✓");
    }

    #[test]
    fn compile_errors_name_the_problem() {
        let err = Template::compile("Hi {{name}}").unwrap_err();
        assert!(err.contains("unknown placeholder {{name}} at 3"), "{err}");
        assert!(err.contains("appName, link, email, username"), "{err}");
        let err = Template::compile("Hi {{link").unwrap_err();
        assert_eq!(err, "unclosed {{ at 3");
        let err = Template::compile("{{#email}}x").unwrap_err();
        assert_eq!(err, "section {{#email}} at 0 is never closed");
        let err = Template::compile("x{{/email}}").unwrap_err();
        assert_eq!(err, "{{/email}} at 1 closes no section");
        let err = Template::compile("{{#email}}{{/link}}").unwrap_err();
        assert_eq!(err, "{{/link}} at 10 closes {{#email}} opened at 0");
    }
}
