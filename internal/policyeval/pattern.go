package policyeval

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// variables maps each variable name a pattern may use to the identity value
// it stands for.
var variables = map[string]func(Identity) string{
	"devices.deviceId":  func(id Identity) string { return id.DeviceID },
	"devices.productId": func(id Identity) string { return id.ProductID },
	"devices.clientId":  func(id Identity) string { return id.ClientID },
}

// variableNames lists the variable names in the order of [Identity].
var variableNames = []string{"devices.deviceId", "devices.productId", "devices.clientId"}

// char is one character of a topic or pattern: a Unicode code point, or, for
// a byte that is not valid UTF-8, -1 minus the byte's value, so that distinct
// invalid bytes stay distinct and never equal a code point.
type char int32

// decodeChar returns the first character of s and its length in bytes.
func decodeChar(s string) (char, int) {
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size == 1 {
		return -1 - char(s[0]), 1
	}
	return char(r), size
}

// chars splits s into characters.
func chars(s string) []char {
	out := make([]char, 0, len(s))
	for len(s) > 0 {
		c, n := decodeChar(s)
		out = append(out, c)
		s = s[n:]
	}
	return out
}

// tokenKind says what a token of a pattern matches.
type tokenKind uint8

const (
	tokLit  tokenKind = iota // one given character
	tokOne                   // "?": exactly one character
	tokStar                  // "*": one or more characters
	tokVar                   // "${name}": a variable's value
)

// token is one element of a parsed pattern.
type token struct {
	kind tokenKind
	c    char   // the character, for tokLit
	name string // the variable name, for tokVar
	raw  string // the source text of the token
}

// pattern is a parsed resource.
type pattern struct {
	toks []token
	// valid is false when the resource lacks the "topic:" prefix or uses an
	// unknown variable: such a resource never matches.
	valid bool
	// plain is the compiled pattern of a valid one without variables,
	// which [pattern.concrete] returns for every identity.
	plain []step
	// byID keeps the compiled patterns of a valid one with variables, by
	// identity: a comparison matches each of its few identities against
	// many witnesses, and compiling anew for each was a third of its time.
	// A pattern is parsed for one call and not shared between goroutines.
	byID map[Identity]compiledFor
}

// compiledFor is a pattern compiled for one identity.
type compiledFor struct {
	steps []step
	ok    bool
}

// maxCompiledIdentities bounds the identities a pattern keeps compiled.
const maxCompiledIdentities = 16

// parsePattern parses one resource of a statement.
func parsePattern(resource string) pattern {
	s, ok := strings.CutPrefix(resource, iotda.ResourcePrefix)
	if !ok {
		return pattern{}
	}
	p := pattern{valid: true}
	for len(s) > 0 {
		if strings.HasPrefix(s, "${") {
			if end := strings.IndexByte(s[2:], '}'); end >= 0 {
				name := s[2 : 2+end]
				if _, known := variables[name]; !known {
					p.valid = false
				}
				p.toks = append(p.toks, token{kind: tokVar, name: name, raw: s[:end+3]})
				s = s[end+3:]
				continue
			}
		}
		c, n := decodeChar(s)
		t := token{kind: tokLit, c: c, raw: s[:n]}
		switch c {
		case '*':
			t.kind = tokStar
		case '?':
			t.kind = tokOne
		}
		p.toks = append(p.toks, t)
		s = s[n:]
	}
	switch {
	case !p.valid:
	case slices.ContainsFunc(p.toks, func(t token) bool { return t.kind == tokVar }):
		p.byID = map[Identity]compiledFor{}
	default:
		p.plain, _ = p.concrete(Identity{})
	}
	return p
}

// stepKind says what one step of a compiled pattern consumes.
type stepKind uint8

const (
	stepLit  stepKind = iota // one given character
	stepOne                  // any one character ("?")
	stepPlus                 // the first character of a "*"; in the inclusion check also a whole variable value
	stepStar                 // zero or more characters (the rest of a "*"); in the inclusion check also variable values
	stepVar                  // inclusion check only: the whole value of the named variable, as one symbol
	stepEnd                  // inclusion check only: the end of a pattern, which consumes nothing
)

// step is one position of a pattern compiled into an automaton whose states
// are the step indexes: a "*" becomes stepPlus followed by stepStar, which is
// how "one or more" is expressed with a zero-or-more loop.
type step struct {
	kind stepKind
	c    char   // for stepLit
	name string // for stepVar
}

// steps compiles p for the inclusion check, keeping variables symbolic.
func (p pattern) steps() []step {
	out, _ := p.compile(func(out []step, name string) ([]step, bool) {
		return append(out, step{kind: stepVar, name: name}), true
	})
	return out
}

// concrete compiles p for matching topics of the identity id, substituting
// variables. It reports false when p can match nothing for id: p is invalid
// or uses a variable whose value is not given.
func (p pattern) concrete(id Identity) ([]step, bool) {
	if !p.valid {
		return nil, false
	}
	if p.plain != nil {
		return p.plain, true
	}
	if c, ok := p.byID[id]; ok {
		return c.steps, c.ok
	}
	steps, ok := p.compile(func(out []step, name string) ([]step, bool) {
		value := variables[name](id)
		if value == "" {
			return nil, false
		}
		for _, c := range chars(value) {
			out = append(out, step{kind: stepLit, c: c})
		}
		return out, true
	})
	if p.byID != nil && len(p.byID) < maxCompiledIdentities {
		p.byID[id] = compiledFor{steps, ok}
	}
	return steps, ok
}

// compile turns the tokens of p into steps, each variable into the steps
// variable appends for its name; it reports false when variable does.
func (p pattern) compile(variable func(out []step, name string) ([]step, bool)) ([]step, bool) {
	out := make([]step, 0, len(p.toks)+1)
	for _, t := range p.toks {
		switch t.kind {
		case tokLit:
			out = append(out, step{kind: stepLit, c: t.c})
		case tokOne:
			out = append(out, step{kind: stepOne})
		case tokStar:
			out = append(out, step{kind: stepPlus}, step{kind: stepStar})
		case tokVar:
			var ok bool
			if out, ok = variable(out, t.name); !ok {
				return nil, false
			}
		}
	}
	return out, true
}

// matchWork reports whether p matches the whole of topic for the identity
// id, and adds the steps it takes to *work, when work is not nil.
func (p pattern) matchWork(topic []char, id Identity, work *int) bool {
	pat, ok := p.concrete(id)
	if !ok {
		return false
	}
	matched, n := globMatchWork(pat, topic)
	if work != nil {
		*work += n + len(pat)
	}
	return matched
}

// globMatch reports whether pat, made of stepLit, stepOne, stepPlus and
// stepStar, matches the whole of text. It is the classic greedy two-pointer
// wildcard algorithm: on a mismatch it only ever retries from the most
// recent stepStar, which is enough because that star can absorb whatever an
// earlier one would have, so it runs in O(len(pat)*len(text)) time.
func globMatch(pat []step, text []char) bool {
	matched, _ := globMatchWork(pat, text)
	return matched
}

// globMatchWork is globMatch that also returns the steps it took.
func globMatchWork(pat []step, text []char) (bool, int) {
	p, t := 0, 0
	starP, starT := -1, 0
	work := 0
	for t < len(text) {
		work++
		switch {
		case p < len(pat) && pat[p].kind == stepStar:
			starP, starT = p, t
			p++
		case p < len(pat) && (pat[p].kind != stepLit || pat[p].c == text[t]):
			p++
			t++
		case starP >= 0:
			starT++
			p, t = starP+1, starT
		default:
			return false, work
		}
	}
	for p < len(pat) && pat[p].kind == stepStar {
		p++
	}
	return p == len(pat), work
}

// onlyStars reports whether p is valid and made of "*" alone, and how many.
func (p pattern) onlyStars() (int, bool) {
	if !p.valid || len(p.toks) == 0 {
		return 0, false
	}
	for _, t := range p.toks {
		if t.kind != tokStar {
			return 0, false
		}
	}
	return len(p.toks), true
}
