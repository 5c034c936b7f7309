//! Splitting a PowerShell script into tokens: the subset VPN deployment scripts use.
//!
//! Quoted strings (`'…'` with `''`, `"…"` with backtick escapes, here-strings `@"…"@`),
//! comments (`#` and `<# … #>`), backtick line continuations, variables (`$name`,
//! `${name}`, `$env:X`), splatting (`@name`), parameters (`-Name`, `-Switch:$true`), type
//! casts (`[xml]`), and the punctuation of arrays, hashtables and sub-expressions.
//! Typographic quotes, which scripts pasted from documents carry, count as quotes, as
//! PowerShell's own tokenizer treats them.

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// A bare word: a command name, an enum value, a number, a prefix.
    Word(String),
    /// `-Name`; `true` when written `-Name:value`.
    Param(String, bool),
    /// A string literal; `true` when variables in it are expanded (double quotes).
    Str(String, bool),
    /// `$name` (the name without `$`, scope prefixes kept: `env:USERNAME`).
    Var(String),
    /// `@name`: splatting.
    Splat(String),
    /// `[type]`.
    Cast,
    /// `.Name` after a value: a member access.
    Member,
    /// `@(` (and `$(`, `(`: all open a group that `)` closes).
    Open,
    /// `@{`.
    HashOpen,
    /// One of `= , ) { } ; |`.
    Punct(char),
    /// The end of a line (not continued with a backtick).
    Newline,
}

/// A token and where it starts (1-based line and column).
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub line: usize,
    pub column: usize,
}

/// A syntax error and where it is.
#[derive(Debug)]
pub(crate) struct LexError {
    pub reason: String,
    pub line: usize,
    pub column: usize,
}

fn is_dquote(c: char) -> bool {
    matches!(c, '"' | '\u{201c}' | '\u{201d}' | '\u{201e}')
}

fn is_squote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}')
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2013}' | '\u{2014}' | '\u{2015}')
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    column: usize,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error(&self, reason: impl Into<String>, line: usize, column: usize) -> LexError {
        LexError {
            reason: reason.into(),
            line,
            column,
        }
    }

    fn name(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek(0) {
            if c.is_alphanumeric()
                || c == '_'
                || (c == ':'
                    && !out.is_empty()
                    && self.peek(1).is_some_and(|n| n.is_alphanumeric()))
            {
                out.push(c);
                self.bump();
            } else {
                break;
            }
        }
        out
    }

    /// A single-quoted string; the opening quote is consumed.
    fn single(&mut self, line: usize, column: usize) -> Result<String, LexError> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(self.error("unterminated string (it starts here)", line, column));
                }
                Some(c) if is_squote(c) => {
                    if self.peek(0).is_some_and(is_squote) {
                        self.bump();
                        out.push('\'');
                    } else {
                        return Ok(out);
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// A double-quoted string; the opening quote is consumed. Escapes are resolved;
    /// `$` stays for the parser to expand, and an escaped one is marked with
    /// [`LITERAL_NEXT`] (so is that character itself when the script contains it).
    fn double(&mut self, line: usize, column: usize) -> Result<String, LexError> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(self.error("unterminated string (it starts here)", line, column));
                }
                Some('`') => match self.bump() {
                    None => {
                        return Err(self.error(
                            "unterminated string (it starts here)",
                            line,
                            column,
                        ));
                    }
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some('0') => out.push('\0'),
                    // An escaped `$` is a literal dollar sign: keep it out of expansion.
                    Some('$') => out.extend([LITERAL_NEXT, '$']),
                    Some(LITERAL_NEXT) => out.extend([LITERAL_NEXT, LITERAL_NEXT]),
                    Some(c) => out.push(c),
                },
                Some(c) if is_dquote(c) => {
                    if self.peek(0).is_some_and(is_dquote) {
                        self.bump();
                        out.push('"');
                    } else {
                        return Ok(out);
                    }
                }
                Some(LITERAL_NEXT) => out.extend([LITERAL_NEXT, LITERAL_NEXT]),
                Some(c) => out.push(c),
            }
        }
    }

    /// A here-string body after `@"` or `@'` and the end of that line, up to a line
    /// starting with `"@` / `'@`.
    fn here(&mut self, double: bool, line: usize, column: usize) -> Result<String, LexError> {
        let closing = if double { "\"@" } else { "'@" };
        let mut lines: Vec<String> = Vec::new();
        let mut current = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(self.error(
                        "unterminated here-string (it starts here)",
                        line,
                        column,
                    ));
                }
                Some('\n') => {
                    lines.push(current.trim_end_matches('\r').to_string());
                    current.clear();
                }
                Some(LITERAL_NEXT) if double => current.extend([LITERAL_NEXT, LITERAL_NEXT]),
                Some(c) => {
                    current.push(if is_dquote(c) {
                        '"'
                    } else if is_squote(c) {
                        '\''
                    } else {
                        c
                    });
                    if current == closing {
                        return Ok(lines.join("\n"));
                    }
                }
            }
        }
    }
}

/// In the text of a string that expands variables ([`Tok::Str`] with `true`), this
/// character says that the next one is literal: a `$` that was escaped with a backtick
/// (so not the start of a variable), or this character itself. It is a private-use
/// character (Apple's logo on Apple systems), so a script may well contain it, and it
/// is therefore escaped too, never taken for a marker.
pub(crate) const LITERAL_NEXT: char = '\u{f8ff}';

/// The text of an expandable string without expanding it: markers resolved (for a
/// double-quoted string used as a hashtable key).
pub(crate) fn without_markers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            LITERAL_NEXT => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// Splits a script into tokens.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, LexError> {
    let mut lx = Lexer {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        column: 1,
    };
    let mut out: Vec<Token> = Vec::new();
    while let Some(c) = lx.peek(0) {
        let start = lx.pos;
        let (line, column) = (lx.line, lx.column);
        let after_value = matches!(
            out.last().map(|t| &t.tok),
            Some(Tok::Punct(')') | Tok::Var(_) | Tok::Member)
        );
        let mut push = |tok| out.push(Token { tok, line, column });
        match c {
            // Any other white space too (vertical tab, form feed, Unicode spaces): a word
            // stops at white space, so one left to the word branch would never be read.
            c if c == '\u{feff}' || (c.is_whitespace() && c != '\n') => {
                lx.bump();
            }
            '\n' => {
                lx.bump();
                push(Tok::Newline);
            }
            '`' => {
                lx.bump();
                // A line continuation (possibly with trailing spaces before the newline).
                while lx
                    .peek(0)
                    .is_some_and(|c| c == ' ' || c == '\t' || c == '\r')
                {
                    lx.bump();
                }
                if lx.peek(0) == Some('\n') {
                    lx.bump();
                }
            }
            '#' => {
                while lx.peek(0).is_some_and(|c| c != '\n') {
                    lx.bump();
                }
            }
            '<' if lx.peek(1) == Some('#') => {
                lx.bump();
                lx.bump();
                loop {
                    match lx.bump() {
                        None => {
                            return Err(lx.error(
                                "unterminated block comment <# (it starts here)",
                                line,
                                column,
                            ));
                        }
                        Some('#') if lx.peek(0) == Some('>') => {
                            lx.bump();
                            break;
                        }
                        Some(_) => {}
                    }
                }
            }
            c if is_squote(c) => {
                lx.bump();
                let s = lx.single(line, column)?;
                push(Tok::Str(s, false));
            }
            c if is_dquote(c) => {
                lx.bump();
                let s = lx.double(line, column)?;
                push(Tok::Str(s, true));
            }
            '@' => {
                lx.bump();
                match lx.peek(0) {
                    Some('(') => {
                        lx.bump();
                        push(Tok::Open);
                    }
                    Some('{') => {
                        lx.bump();
                        push(Tok::HashOpen);
                    }
                    Some(q) if is_dquote(q) || is_squote(q) => {
                        lx.bump();
                        while lx
                            .peek(0)
                            .is_some_and(|c| c == ' ' || c == '\t' || c == '\r')
                        {
                            lx.bump();
                        }
                        if lx.bump() != Some('\n') {
                            return Err(lx.error(
                                "a here-string's opening @\" must end its line",
                                line,
                                column,
                            ));
                        }
                        let s = lx.here(is_dquote(q), line, column)?;
                        push(Tok::Str(s, is_dquote(q)));
                    }
                    _ => {
                        let name = lx.name();
                        push(Tok::Splat(name));
                    }
                }
            }
            '$' => {
                lx.bump();
                match lx.peek(0) {
                    Some('(') => {
                        lx.bump();
                        push(Tok::Open);
                    }
                    Some('{') => {
                        lx.bump();
                        let mut name = String::new();
                        loop {
                            match lx.bump() {
                                None => {
                                    return Err(lx.error(
                                        "unterminated ${ variable name",
                                        line,
                                        column,
                                    ));
                                }
                                Some('}') => break,
                                Some(c) => name.push(c),
                            }
                        }
                        push(Tok::Var(name));
                    }
                    _ => {
                        let name = lx.name();
                        push(Tok::Var(name));
                    }
                }
            }
            '(' => {
                lx.bump();
                push(Tok::Open);
            }
            '[' => {
                let mut depth = 0usize;
                loop {
                    match lx.bump() {
                        None => {
                            return Err(lx.error(
                                "unterminated [type] (it starts here)",
                                line,
                                column,
                            ));
                        }
                        Some('[') => depth += 1,
                        Some(']') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Some(_) => {}
                    }
                }
                push(Tok::Cast);
            }
            '.' if after_value && lx.peek(1).is_some_and(char::is_alphabetic) => {
                lx.bump();
                lx.name();
                push(Tok::Member);
            }
            '=' | ',' | ')' | '{' | '}' | ';' | '|' => {
                lx.bump();
                push(Tok::Punct(c));
            }
            c if is_dash(c) && lx.peek(1).is_some_and(char::is_alphabetic) => {
                lx.bump();
                let name = lx.name();
                let attached = lx.peek(0) == Some(':');
                if attached {
                    lx.bump();
                }
                push(Tok::Param(name, attached));
            }
            _ => {
                let mut word = String::new();
                while let Some(c) = lx.peek(0) {
                    if c.is_whitespace()
                        || matches!(c, ',' | ';' | '(' | ')' | '{' | '}' | '|' | '=')
                    {
                        break;
                    }
                    if c == '`' {
                        lx.bump();
                        match lx.peek(0) {
                            Some('\n') | Some('\r') | None => break,
                            Some(_) => {}
                        }
                    }
                    if let Some(c) = lx.bump() {
                        word.push(if is_dash(c) { '-' } else { c });
                    }
                }
                push(Tok::Word(word));
            }
        }
        // Every branch consumes at least one character; should one ever not, the script
        // is refused rather than read forever.
        if lx.pos == start {
            return Err(LexError {
                reason: format!("cannot read the character {c:?} here"),
                line: lx.line,
                column: lx.column,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_kind_of_white_space_is_skipped() {
        let tokens = super::tokenize("Add-VpnConnection\u{b}-Name\u{c}x\u{2028}y").unwrap();
        assert_eq!(tokens.len(), 4);
    }

    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        tokenize(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn strings_params_and_continuations() {
        assert_eq!(
            toks(
                "Add-VpnConnection -Name 'It''s' `\n  -ServerAddress \"vpn`\"x\" -SplitTunneling:$true # c"
            ),
            vec![
                Tok::Word("Add-VpnConnection".into()),
                Tok::Param("Name".into(), false),
                Tok::Str("It's".into(), false),
                Tok::Param("ServerAddress".into(), false),
                Tok::Str("vpn\"x".into(), true),
                Tok::Param("SplitTunneling".into(), true),
                Tok::Var("true".into()),
            ]
        );
    }

    #[test]
    fn here_strings_comments_and_splats() {
        let t = toks("<# a\nb #>\n$x = @\"\n<a/>\n\"@\nAdd-VpnConnection @p");
        assert_eq!(
            t,
            vec![
                Tok::Newline,
                Tok::Var("x".into()),
                Tok::Punct('='),
                Tok::Str("<a/>".into(), true),
                Tok::Newline,
                Tok::Word("Add-VpnConnection".into()),
                Tok::Splat("p".into()),
            ]
        );
    }

    #[test]
    fn unterminated_string_has_its_start() {
        let e = tokenize("Add-VpnConnection `\n -Name \"Corp").unwrap_err();
        assert_eq!((e.line, e.column), (2, 8));
        assert_eq!(e.reason, "unterminated string (it starts here)");
    }
}
