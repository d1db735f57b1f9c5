package signer

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// DefaultMaxSkew is how far X-Sdk-Date may be from the verifier's clock.
const DefaultMaxSkew = 15 * time.Minute

// ErrRejected is wrapped by every error Verify returns, so callers can tell
// a rejected signature from other failures with errors.Is.
var ErrRejected = errors.New("signature rejected")

// Verifier checks signed requests the way the API gateway does.
type Verifier struct {
	// SecretKey returns the secret key of an access key, and false for an
	// access key it does not know.
	SecretKey func(accessKey string) (string, bool)
	// MaxSkew bounds the distance between X-Sdk-Date and Now; zero means
	// DefaultMaxSkew.
	MaxSkew time.Duration
	// Now is the verifier's clock; nil means time.Now.
	Now func() time.Time
}

// ParsedAuthorization is the content of an Authorization header.
type ParsedAuthorization struct {
	Algorithm     string
	AccessKey     string
	Scope         string // derived signing only: date/region/service
	SignedHeaders []string
	Signature     string
}

// ParseAuthorization splits an Authorization header of either algorithm.
func ParseAuthorization(value string) (ParsedAuthorization, error) {
	var p ParsedAuthorization
	algorithm, rest, ok := strings.Cut(strings.TrimSpace(value), " ")
	if !ok {
		return p, fmt.Errorf("%w: malformed Authorization header", ErrRejected)
	}
	p.Algorithm = algorithm
	if algorithm != AlgorithmBasic && algorithm != AlgorithmDerived {
		return p, fmt.Errorf("%w: unsupported algorithm %q", ErrRejected, algorithm)
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return p, fmt.Errorf("%w: malformed Authorization field %q", ErrRejected, part)
		}
		switch k {
		case "Access":
			p.AccessKey = v
		case "Credential":
			ak, scope, ok := strings.Cut(v, "/")
			if !ok {
				return p, fmt.Errorf("%w: Credential has no scope", ErrRejected)
			}
			p.AccessKey, p.Scope = ak, scope
		case "SignedHeaders":
			if v != "" {
				p.SignedHeaders = strings.Split(v, ";")
			}
		case "Signature":
			p.Signature = v
		}
	}
	if p.AccessKey == "" || p.Signature == "" || len(p.SignedHeaders) == 0 {
		return p, fmt.Errorf("%w: Authorization lacks the access key, signed headers or signature", ErrRejected)
	}
	if !sort.StringsAreSorted(p.SignedHeaders) {
		return p, fmt.Errorf("%w: SignedHeaders are not sorted", ErrRejected)
	}
	if algorithm == AlgorithmDerived && len(strings.Split(p.Scope, "/")) != 3 {
		return p, fmt.Errorf("%w: derived scope %q is not date/region/service", ErrRejected, p.Scope)
	}
	return p, nil
}

// Verify checks the signature of req over body, which must be the exact
// bytes received. It returns the access key on success; every error wraps
// ErrRejected and says why.
//
// The body is always hashed as received. An X-Sdk-Content-Sha256 header
// counts only when it is among the signed headers, and then only when it is
// UNSIGNED-PAYLOAD (the sender chose not to sign the body) or equal to the
// hash of the body received; an unsigned one is ignored, so a body changed
// after signing fails whatever hash is sent beside it.
func (v Verifier) Verify(req *http.Request, body []byte) (string, error) {
	auth, creds, err := v.checkHeaders(req)
	if err != nil {
		return "", err
	}
	payload, err := verifiedPayloadHash(req, body, auth.SignedHeaders)
	if err != nil {
		return "", err
	}
	want, err := authorization(req, req.Header.Get(HeaderDate), payload, creds, auth.SignedHeaders)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrRejected, err)
	}
	got := want[strings.LastIndex(want, "Signature=")+len("Signature="):]
	if subtle.ConstantTimeCompare([]byte(got), []byte(auth.Signature)) != 1 {
		return "", fmt.Errorf("%w: signature does not match", ErrRejected)
	}
	return auth.AccessKey, nil
}

// CheckHeaders makes every check of Verify that does not need the body:
// the Authorization header, the date and its skew, the access key and the
// derived scope. A server calls it before reading a body, so a request
// that cannot be authentic costs no memory for its body; Verify then makes
// these checks again and checks the signature. Errors wrap ErrRejected.
func (v Verifier) CheckHeaders(req *http.Request) (ParsedAuthorization, error) {
	auth, _, err := v.checkHeaders(req)
	return auth, err
}

func (v Verifier) checkHeaders(req *http.Request) (ParsedAuthorization, Credentials, error) {
	auth, err := ParseAuthorization(req.Header.Get(HeaderAuthorization))
	if err != nil {
		return auth, Credentials{}, err
	}
	dateValue := req.Header.Get(HeaderDate)
	date, err := time.Parse(DateFormat, dateValue)
	if err != nil {
		return auth, Credentials{}, fmt.Errorf("%w: %s %q is not in the form yyyyMMddTHHmmssZ", ErrRejected, HeaderDate, dateValue)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew == 0 {
		skew = DefaultMaxSkew
	}
	if d := now().Sub(date); d > skew || d < -skew {
		return auth, Credentials{}, fmt.Errorf("%w: %s is more than %s away from the server's time", ErrRejected, HeaderDate, skew)
	}
	if !slices.Contains(auth.SignedHeaders, "x-sdk-date") {
		return auth, Credentials{}, fmt.Errorf("%w: x-sdk-date is not among the signed headers", ErrRejected)
	}
	secret, ok := v.SecretKey(auth.AccessKey)
	if !ok {
		return auth, Credentials{}, fmt.Errorf("%w: unknown access key", ErrRejected)
	}
	creds := Credentials{AccessKey: auth.AccessKey, SecretKey: secret, Algorithm: auth.Algorithm}
	if auth.Algorithm == AlgorithmDerived {
		scope := strings.Split(auth.Scope, "/")
		if scope[0] != dateValue[:8] {
			return auth, Credentials{}, fmt.Errorf("%w: scope date %q does not match %s", ErrRejected, scope[0], HeaderDate)
		}
		creds.Region, creds.Service = scope[1], scope[2]
	}
	return auth, creds, nil
}

// verifiedPayloadHash is the payload hash a verifier signs over.
func verifiedPayloadHash(req *http.Request, body []byte, signedHeaders []string) (string, error) {
	computed := bodySHA256(body)
	if !slices.Contains(signedHeaders, strings.ToLower(HeaderContentSHA256)) {
		return computed, nil
	}
	sent := strings.Join(req.Header.Values(HeaderContentSHA256), ",")
	switch sent {
	case UnsignedPayload:
		return sent, nil
	case computed:
		return sent, nil
	}
	return "", fmt.Errorf("%w: %s is neither %s nor the SHA-256 of the body received", ErrRejected, HeaderContentSHA256, UnsignedPayload)
}
