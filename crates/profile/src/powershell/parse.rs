//! From tokens to the commands a script runs, with its string variables, arrays,
//! hashtables and splatting resolved. Nothing is executed: a value that only exists when
//! the script runs (`$env:USERNAME`, the output of `Get-Content`) stays unknown, and is
//! an error only if a mapped parameter needs it. Control flow (`if`, `try`/`catch`) is
//! not followed: the commands in it are read once, in order. Loops over a list the
//! script assigns itself (`foreach ($r in $routes) {…}`, `$routes | ForEach-Object {…}`),
//! which IT scripts use for routes and DNS suffixes, are unrolled.

use std::collections::HashMap;

use super::lex::{LITERAL_NEXT, LexError, Tok, Token, without_markers};

/// Deeper nesting of groups, arrays and hashtables than any deployment script uses;
/// refused so that hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

/// More statements than unrolling the loops of any deployment script reads; refused so
/// that nested loops over long lists cannot make a small file cost much.
const MAX_STATEMENTS: usize = 100_000;

/// A value as far as it is known without running the script.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Str(String),
    Bool(bool),
    Array(Vec<Value>),
    Hash(Vec<(String, Value)>),
    /// The output of `New-EapConfiguration`: the EAP method type it configures.
    EapConfig(u32),
    Null,
    /// Known only when the script runs; the text says what it is.
    Unknown(String),
}

impl Value {
    /// The value as one string, if it is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a list of strings (a single string is a list of one).
    pub(crate) fn strings(&self) -> Option<Vec<String>> {
        match self {
            Value::Str(s) => Some(vec![s.clone()]),
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => None,
        }
    }
}

/// One argument: `-Name value`, `-Switch`, or a positional value.
#[derive(Clone, Debug)]
pub(crate) struct Arg {
    /// The parameter name as written (without `-`); `None` for a positional value.
    pub name: Option<String>,
    /// The value; `None` for a switch given without one.
    pub value: Option<Value>,
    pub line: usize,
    pub column: usize,
}

/// One command invocation.
#[derive(Clone, Debug)]
pub(crate) struct Command {
    pub name: String,
    pub args: Vec<Arg>,
    pub line: usize,
    pub column: usize,
}

/// Switch parameters of the cmdlets read here: they never take the next token as value.
const SWITCHES: &[&str] = &[
    "SplitTunneling",
    "AllUserConnection",
    "RememberCredential",
    "UseWinlogonCredential",
    "Force",
    "PassThru",
    "Tls",
    "Peap",
    "Ttls",
    "WhatIf",
    "Confirm",
    "Verbose",
    "Debug",
    "AsJob",
    "RevertToDefault",
    "ThirdPartyVpn",
    "EnableClientCertificateCheck",
];

const KEYWORDS: &[&str] = &[
    "if", "elseif", "else", "foreach", "for", "while", "do", "until", "try", "catch", "finally",
    "function", "param", "return", "switch", "trap", "throw", "exit", "break", "continue", "begin",
    "process", "end", "filter",
];

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    vars: HashMap<String, Value>,
    commands: Vec<Command>,
    depth: usize,
    /// Statements read so far, loop bodies once per item.
    statements: usize,
}

fn error(reason: impl Into<String>, token: Option<&Token>) -> LexError {
    let (line, column) = token.map(|t| (t.line, t.column)).unwrap_or((0, 0));
    LexError {
        reason: reason.into(),
        line,
        column,
    }
}

/// Reads the commands of a script, in order.
pub(crate) fn commands(tokens: &[Token]) -> Result<Vec<Command>, LexError> {
    let mut p = Parser {
        tokens,
        pos: 0,
        vars: HashMap::new(),
        commands: Vec::new(),
        depth: 0,
        statements: 0,
    };
    while p.pos < tokens.len() {
        p.statement()?;
    }
    Ok(p.commands)
}

fn ends_statement(tok: &Tok) -> bool {
    matches!(tok, Tok::Newline | Tok::Punct(';' | '|' | '{' | '}'))
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn token(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn skip_newlines(&mut self) {
        while matches!(self.peek(), Some(Tok::Newline)) {
            self.pos += 1;
        }
    }

    fn statement(&mut self) -> Result<(), LexError> {
        while matches!(self.peek(), Some(Tok::Cast)) {
            self.pos += 1;
        }
        let Some(token) = self.token().cloned() else {
            return Ok(());
        };
        self.statements += 1;
        if self.statements > MAX_STATEMENTS {
            return Err(error(
                format!("the script's loops read more than {MAX_STATEMENTS} statements"),
                Some(&token),
            ));
        }
        match &token.tok {
            t if ends_statement(t) => self.pos += 1,
            Tok::Var(_)
                if matches!(
                    self.tokens.get(self.pos + 1).map(|t| &t.tok),
                    Some(Tok::Punct('|'))
                ) && self.pipeline_foreach()? => {}
            Tok::Var(name)
                if matches!(
                    self.tokens.get(self.pos + 1).map(|t| &t.tok),
                    Some(Tok::Punct('='))
                ) =>
            {
                self.pos += 2;
                let value = self.expression()?;
                self.vars.insert(name.to_ascii_lowercase(), value);
            }
            Tok::Word(word)
                if word.eq_ignore_ascii_case("foreach")
                    && matches!(
                        self.tokens.get(self.pos + 1).map(|t| &t.tok),
                        Some(Tok::Open)
                    )
                    && self.foreach_loop()? => {}
            Tok::Word(word) if KEYWORDS.contains(&word.to_ascii_lowercase().as_str()) => {
                self.pos += 1;
                // `if (…)`, `foreach ($x in $y)`: skip the condition, read what follows.
                if matches!(self.peek(), Some(Tok::Open)) {
                    self.skip_group()?;
                }
            }
            Tok::Word(word) if word.contains('-') => {
                let command = self.command()?;
                self.commands.push(command);
            }
            _ => {
                // Anything else (an expression, a method call): skipped to the next
                // statement, groups included.
                while let Some(t) = self.peek() {
                    if ends_statement(t) {
                        break;
                    }
                    if matches!(t, Tok::Open | Tok::HashOpen) {
                        self.skip_group()?;
                    } else {
                        self.pos += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// `foreach ($item in <list>) { … }` (at `foreach`): when the list is known, reads the
    /// body once per item with `$item` set, and returns true. Otherwise leaves the
    /// position as it was and returns false (the body is then read once, as for other
    /// control flow, and a mapped parameter using `$item` is reported as unknown).
    fn foreach_loop(&mut self) -> Result<bool, LexError> {
        let start = self.pos;
        let tok = |i: usize| self.tokens.get(start + i).map(|t| &t.tok);
        let (Some(Tok::Var(var)), Some(Tok::Word(keyword))) = (tok(2), tok(3)) else {
            return Ok(false);
        };
        if !keyword.eq_ignore_ascii_case("in") {
            return Ok(false);
        }
        let var = var.to_ascii_lowercase();
        self.pos = start + 4;
        let list = self.value()?;
        if self.peek() != Some(&Tok::Punct(')')) {
            self.pos = start;
            return Ok(false);
        }
        self.pos += 1;
        self.skip_newlines();
        let unrolled = self.unroll(&[var], list)?;
        if !unrolled {
            self.pos = start;
        }
        Ok(unrolled)
    }

    /// `$list | ForEach-Object { … }` (also `foreach` and `%`), at `$list`: as
    /// [`Parser::foreach_loop`], with the item in `$_` and `$PSItem`.
    fn pipeline_foreach(&mut self) -> Result<bool, LexError> {
        let start = self.pos;
        let Some(Tok::Word(cmdlet)) = self.tokens.get(start + 2).map(|t| &t.tok) else {
            return Ok(false);
        };
        let cmdlet = cmdlet.to_ascii_lowercase();
        if !matches!(cmdlet.as_str(), "foreach-object" | "foreach" | "%") {
            return Ok(false);
        }
        let list = self.value()?;
        self.pos = start + 3;
        let unrolled = self.unroll(&["_".to_string(), "psitem".to_string()], list)?;
        if !unrolled {
            self.pos = start;
        }
        Ok(unrolled)
    }

    /// At the `{` of a loop body: reads the body once per item of `list` with each of
    /// `vars` set to the item, then moves past the body. False (and nothing read) when
    /// the list is not known or no body follows.
    fn unroll(&mut self, vars: &[String], list: Value) -> Result<bool, LexError> {
        let items = match list {
            Value::Array(items) => items,
            Value::Str(_) => vec![list],
            _ => return Ok(false),
        };
        if self.peek() != Some(&Tok::Punct('{')) {
            return Ok(false);
        }
        let open = self.pos;
        let close = self.matching_brace(open)?;
        let saved: Vec<Option<Value>> = vars.iter().map(|v| self.vars.get(v).cloned()).collect();
        for item in items {
            for var in vars {
                self.vars.insert(var.clone(), item.clone());
            }
            self.pos = open + 1;
            while self.pos < close {
                self.statement()?;
            }
        }
        for (var, old) in vars.iter().zip(saved) {
            match old {
                Some(value) => self.vars.insert(var.clone(), value),
                None => self.vars.remove(var),
            };
        }
        self.pos = close + 1;
        Ok(true)
    }

    /// The index of the `}` closing the `{` at `open` (hashtables inside included).
    fn matching_brace(&self, open: usize) -> Result<usize, LexError> {
        let mut depth = 0usize;
        for (i, t) in self.tokens.iter().enumerate().skip(open) {
            match t.tok {
                Tok::Punct('{') | Tok::HashOpen => depth += 1,
                Tok::Punct('}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Ok(i);
                    }
                }
                _ => {}
            }
        }
        Err(error(
            "unclosed brace (it opens here)",
            self.tokens.get(open),
        ))
    }

    /// Skips a `(`…`)` or `@{`…`}` group, nested ones included.
    fn skip_group(&mut self) -> Result<(), LexError> {
        let start = self.token().cloned();
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match t {
                Tok::Open | Tok::HashOpen => depth += 1,
                Tok::Punct(')' | '}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        Err(error(
            "unclosed parenthesis or brace (it opens here)",
            start.as_ref(),
        ))
    }

    /// A command with its arguments, up to the end of the statement (or a closing
    /// parenthesis when it is inside one).
    fn command(&mut self) -> Result<Command, LexError> {
        let Some(Token {
            tok: Tok::Word(name),
            line,
            column,
        }) = self.token().cloned()
        else {
            return Err(error("expected a command", self.token()));
        };
        self.pos += 1;
        let mut args = Vec::new();
        while let Some(token) = self.token().cloned() {
            if ends_statement(&token.tok) || token.tok == Tok::Punct(')') {
                break;
            }
            match token.tok.clone() {
                Tok::Param(param, attached) => {
                    self.pos += 1;
                    let is_switch = SWITCHES.iter().any(|s| s.eq_ignore_ascii_case(&param));
                    let value = if attached || (!is_switch && self.starts_value()) {
                        Some(self.list()?)
                    } else {
                        None
                    };
                    args.push(Arg {
                        name: Some(param),
                        value,
                        line: token.line,
                        column: token.column,
                    });
                }
                Tok::Splat(var) => {
                    self.pos += 1;
                    match self.vars.get(&var.to_ascii_lowercase()) {
                        Some(Value::Hash(pairs)) => {
                            for (key, value) in pairs {
                                let value = match value {
                                    Value::Bool(true)
                                        if SWITCHES.iter().any(|s| s.eq_ignore_ascii_case(key)) =>
                                    {
                                        None
                                    }
                                    other => Some(other.clone()),
                                };
                                args.push(Arg {
                                    name: Some(key.clone()),
                                    value,
                                    line: token.line,
                                    column: token.column,
                                });
                            }
                        }
                        Some(Value::Array(items)) => {
                            for item in items {
                                args.push(Arg {
                                    name: None,
                                    value: Some(item.clone()),
                                    line: token.line,
                                    column: token.column,
                                });
                            }
                        }
                        _ => {
                            return Err(error(
                                format!(
                                    "@{var} splats a variable that is not a hashtable assigned earlier in the script"
                                ),
                                Some(&token),
                            ));
                        }
                    }
                }
                Tok::Member => self.pos += 1,
                _ if self.starts_value() => {
                    let value = self.list()?;
                    args.push(Arg {
                        name: None,
                        value: Some(value),
                        line: token.line,
                        column: token.column,
                    });
                }
                _ => self.pos += 1,
            }
        }
        Ok(Command {
            name,
            args,
            line,
            column,
        })
    }

    fn starts_value(&self) -> bool {
        matches!(
            self.peek(),
            Some(Tok::Str(..) | Tok::Word(_) | Tok::Var(_) | Tok::Open | Tok::HashOpen | Tok::Cast)
        )
    }

    /// The right side of an assignment: a command's output or a value.
    fn expression(&mut self) -> Result<Value, LexError> {
        while matches!(self.peek(), Some(Tok::Cast)) {
            self.pos += 1;
        }
        match self.peek() {
            Some(Tok::Word(w)) if w.contains('-') && !w.starts_with('-') => {
                let command = self.command()?;
                Ok(evaluate(&command))
            }
            Some(_) if self.starts_value() => self.list(),
            _ => Ok(Value::Null),
        }
    }

    /// Values separated by commas: an array when there are several.
    fn list(&mut self) -> Result<Value, LexError> {
        let first = self.value()?;
        if !matches!(self.peek(), Some(Tok::Punct(','))) {
            return Ok(first);
        }
        let mut items = vec![first];
        while matches!(self.peek(), Some(Tok::Punct(','))) {
            self.pos += 1;
            self.skip_newlines();
            items.push(self.value()?);
        }
        Ok(Value::Array(items))
    }

    fn value(&mut self) -> Result<Value, LexError> {
        let Some(token) = self.token().cloned() else {
            return Err(error(
                "a value is missing at the end of the script",
                self.tokens.last(),
            ));
        };
        self.pos += 1;
        let value = match token.tok.clone() {
            Tok::Cast => return self.value(),
            Tok::Str(s, expand) if expand => self.expand(&s),
            Tok::Str(s, _) | Tok::Word(s) => Value::Str(s),
            Tok::Var(name) => match name.to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                lower => self.vars.get(lower).cloned().unwrap_or_else(|| {
                    Value::Unknown(format!("${name}, which is known only when the script runs"))
                }),
            },
            Tok::Open => self.group(&token)?,
            Tok::HashOpen => self.hash(&token)?,
            other => {
                return Err(error(
                    format!("unexpected {}", describe(&other)),
                    Some(&token),
                ));
            }
        };
        while matches!(self.peek(), Some(Tok::Member)) {
            self.pos += 1;
        }
        Ok(value)
    }

    fn enter(&mut self, token: &Token) -> Result<(), LexError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error(
                format!("nested more than {MAX_DEPTH} levels deep"),
                Some(token),
            ));
        }
        Ok(())
    }

    /// `(…)`, `@(…)`, `$(…)`: a command's output or values.
    fn group(&mut self, open: &Token) -> Result<Value, LexError> {
        self.enter(open)?;
        self.skip_newlines();
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            match self.peek() {
                None => return Err(error("unclosed parenthesis (it opens here)", Some(open))),
                Some(Tok::Punct(')')) => {
                    self.pos += 1;
                    break;
                }
                Some(Tok::Punct(',' | ';')) => self.pos += 1,
                Some(Tok::Word(w)) if w.contains('-') && !w.starts_with('-') => {
                    let command = self.command()?;
                    items.push(evaluate(&command));
                }
                Some(_) => {
                    let v = self.list()?;
                    match v {
                        Value::Array(inner) => items.extend(inner),
                        other => items.push(other),
                    }
                }
            }
        }
        self.depth -= 1;
        Ok(match items.len() {
            1 => items.remove(0),
            _ => Value::Array(items),
        })
    }

    /// `@{ Key = value; … }`.
    fn hash(&mut self, open: &Token) -> Result<Value, LexError> {
        self.enter(open)?;
        let mut pairs = Vec::new();
        loop {
            self.skip_newlines();
            let Some(token) = self.token().cloned() else {
                return Err(error("unclosed hashtable @{ (it opens here)", Some(open)));
            };
            match token.tok.clone() {
                Tok::Punct('}') => {
                    self.pos += 1;
                    break;
                }
                Tok::Punct(';') => self.pos += 1,
                Tok::Word(key) | Tok::Str(key, false) => {
                    pairs.push(self.hash_entry(key, &token)?);
                }
                Tok::Str(key, true) => pairs.push(self.hash_entry(without_markers(&key), &token)?),
                other => {
                    return Err(error(
                        format!("unexpected {} in a hashtable", describe(&other)),
                        Some(&token),
                    ));
                }
            }
        }
        self.depth -= 1;
        Ok(Value::Hash(pairs))
    }

    /// `key = value` in a hashtable, from the key's token on.
    fn hash_entry(&mut self, key: String, token: &Token) -> Result<(String, Value), LexError> {
        self.pos += 1;
        if self.peek() != Some(&Tok::Punct('=')) {
            return Err(error(
                format!("expected = after the hashtable key {key}"),
                Some(token),
            ));
        }
        self.pos += 1;
        self.skip_newlines();
        let value = self.expression()?;
        Ok((key, value))
    }

    /// Expands `$name` and `${name}` in a double-quoted string with the script's string
    /// variables.
    fn expand(&self, text: &str) -> Value {
        let mut out = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == LITERAL_NEXT {
                out.extend(chars.next());
                continue;
            }
            if c != '$' {
                out.push(c);
                continue;
            }
            let mut name = String::new();
            if chars.peek() == Some(&'{') {
                chars.next();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    name.push(c);
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_alphanumeric() || c == '_' || c == ':' {
                        name.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
            }
            if name.is_empty() {
                out.push('$');
                continue;
            }
            match self.vars.get(&name.to_ascii_lowercase()) {
                Some(Value::Str(s)) => out.push_str(s),
                _ => {
                    return Value::Unknown(format!(
                        "\"{text}\" uses ${name}, which is known only when the script runs"
                    ));
                }
            }
        }
        Value::Str(out)
    }
}

/// What a command used as a value produces, as far as it is known.
fn evaluate(command: &Command) -> Value {
    if command.name.eq_ignore_ascii_case("New-EapConfiguration") {
        let has = |s: &str| {
            command
                .args
                .iter()
                .any(|a| a.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(s)))
        };
        let method = if has("Tls") {
            crate::windows::eap::EAP_TLS
        } else if has("Peap") {
            crate::windows::eap::EAP_PEAP
        } else if has("Ttls") {
            crate::windows::eap::EAP_TTLS
        } else {
            crate::windows::eap::EAP_MSCHAPV2
        };
        return Value::EapConfig(method);
    }
    Value::Unknown(format!(
        "the output of {}, which is known only when the script runs",
        command.name
    ))
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Word(w) => format!("'{w}'"),
        Tok::Param(p, _) => format!("parameter -{p}"),
        Tok::Str(..) => "string".to_string(),
        Tok::Var(v) => format!("${v}"),
        Tok::Splat(v) => format!("@{v}"),
        Tok::Cast => "type cast".to_string(),
        Tok::Member => "member access".to_string(),
        Tok::Open => "'('".to_string(),
        Tok::HashOpen => "'@{'".to_string(),
        Tok::Punct(c) => format!("'{c}'"),
        Tok::Newline => "end of line".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::lex::tokenize;
    use super::*;

    fn parse(text: &str) -> Vec<Command> {
        commands(&tokenize(text).unwrap()).unwrap()
    }

    #[test]
    fn loops_over_lists_the_script_assigns_are_unrolled() {
        let cmds = parse(
            "$routes = @(\"10.1.0.0/16\", \"10.2.0.0/16\")\n\
             foreach ($r in $routes) {\n  Add-VpnConnectionRoute -ConnectionName c -DestinationPrefix $r\n}\n\
             $more = \"10.5.0.0/16\"\n\
             $more | ForEach-Object { Add-VpnConnectionRoute -DestinationPrefix $PSItem }\n\
             foreach ($x in (Get-Content routes.txt)) { Add-VpnConnectionRoute -DestinationPrefix $x }\n",
        );
        let prefixes: Vec<Option<Value>> = cmds
            .iter()
            .filter(|c| c.name == "Add-VpnConnectionRoute")
            .map(|c| {
                c.args
                    .iter()
                    .find(|a| a.name.as_deref() == Some("DestinationPrefix"))
                    .and_then(|a| a.value.clone())
            })
            .collect();
        assert_eq!(prefixes.len(), 4, "{cmds:?}");
        assert_eq!(prefixes[0], Some(Value::Str("10.1.0.0/16".into())));
        assert_eq!(prefixes[1], Some(Value::Str("10.2.0.0/16".into())));
        assert_eq!(prefixes[2], Some(Value::Str("10.5.0.0/16".into())));
        // A list known only at run time: the body is read once, its value unknown.
        assert!(matches!(prefixes[3], Some(Value::Unknown(_))), "{cmds:?}");
    }

    #[test]
    fn escaped_dollars_and_private_use_characters_stay_literal() {
        // U+F8FF (Apple's logo) is a character like any other: neither it nor an
        // escaped `$ before or after it turns into something else.
        let cmds = parse(
            "$v = 'x'\n$p = @{ \"K\u{f8ff}`$\" = \"\u{f8ff}`$v \u{f8ff}$v `\u{f8ff}\" }\n\
             Add-VpnConnection -Name \"Corp \u{f8ff} `$v\" @p\n\
             Set-Thing -Text @\"\n\u{f8ff}$v\n\"@",
        );
        let arg = |i: usize, name: &str| {
            cmds[i]
                .args
                .iter()
                .find(|a| a.name.as_deref() == Some(name))
                .and_then(|a| a.value.clone())
        };
        assert_eq!(arg(0, "Name"), Some(Value::Str("Corp \u{f8ff} $v".into())));
        assert_eq!(
            arg(0, "K\u{f8ff}$"),
            Some(Value::Str("\u{f8ff}$v \u{f8ff}x \u{f8ff}".into())),
            "{cmds:?}"
        );
        assert_eq!(arg(1, "Text"), Some(Value::Str("\u{f8ff}x".into())));
    }

    #[test]
    fn nested_loops_over_long_lists_are_bounded() {
        let items: Vec<String> = (0..400).map(|i| format!("\"{i}\"")).collect();
        let script = format!(
            "$a = @({})\nforeach ($x in $a) {{ foreach ($y in $a) {{ Set-Thing -A $x -B $y }} }}\n",
            items.join(",")
        );
        let err = commands(&tokenize(&script).unwrap()).unwrap_err();
        assert!(
            err.reason.contains("more than 100000 statements"),
            "{}",
            err.reason
        );
    }

    #[test]
    fn variables_splats_and_arrays() {
        let cmds = parse(
            "$name = 'Corp'\n$p = @{\n  Name = \"$name VPN\"; ServerAddress = 'vpn'\n  SplitTunneling = $true\n}\nAdd-VpnConnection @p -DnsSuffix a,b\nAdd-VpnConnectionRoute -ConnectionName $name -DestinationPrefix @('10.0.0.0/8', \"10.1.0.0/16\")",
        );
        assert_eq!(cmds.len(), 2);
        let add = &cmds[0];
        assert_eq!(add.args[0].value, Some(Value::Str("Corp VPN".into())));
        assert_eq!(add.args[2].name.as_deref(), Some("SplitTunneling"));
        assert_eq!(add.args[2].value, None);
        assert_eq!(
            add.args[3].value,
            Some(Value::Array(vec![
                Value::Str("a".into()),
                Value::Str("b".into())
            ]))
        );
        let route = &cmds[1];
        assert_eq!(route.args[0].value, Some(Value::Str("Corp".into())));
        assert_eq!(
            route.args[1]
                .value
                .as_ref()
                .unwrap()
                .strings()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn eap_configuration_and_deep_nesting() {
        let cmds = parse(
            "$eap = New-EapConfiguration -Tls\nAdd-VpnConnection x y -EapConfigXmlStream $eap.EapConfigXmlStream",
        );
        assert_eq!(cmds[0].args[2].value, Some(Value::EapConfig(13)));
        let deep = format!(
            "Add-VpnConnection -Name {}x{}",
            "(".repeat(100),
            ")".repeat(100)
        );
        let e = commands(&tokenize(&deep).unwrap()).unwrap_err();
        assert!(e.reason.starts_with("nested more than"), "{}", e.reason);
    }
}
