// Package signer signs and verifies Huawei Cloud API Gateway requests with
// AK/SK credentials.
//
// Two algorithms are supported:
//
//   - SDK-HMAC-SHA256: the signature is an HMAC-SHA256 keyed with the
//     secret key.
//   - V11-HMAC-SHA256 (derived signing): the HMAC key is the lower-case hex
//     form of HKDF-SHA256(secret key, salt access key, info scope), where the
//     scope is "yyyyMMdd/region/service". IoTDA standard and enterprise
//     instances require it, with the service name "iotdm".
//
// The same canonical-request code serves the client, which signs, and the
// mock server, which verifies, so the two cannot drift apart.
package signer

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Algorithm names as they appear in the Authorization header.
const (
	AlgorithmBasic   = "SDK-HMAC-SHA256"
	AlgorithmDerived = "V11-HMAC-SHA256"
)

// Header names used by the signing protocol.
const (
	HeaderDate          = "X-Sdk-Date"
	HeaderAuthorization = "Authorization"
	HeaderContentSHA256 = "X-Sdk-Content-Sha256"
)

// DateFormat is the layout of X-Sdk-Date: yyyyMMdd'T'HHmmss'Z' in UTC.
const DateFormat = "20060102T150405Z"

// DefaultService is the service name of IoTDA in a derived-signing scope.
const DefaultService = "iotdm"

// Credentials is an AK/SK pair with the parameters of the signing algorithm.
type Credentials struct {
	AccessKey string
	SecretKey string
	// Algorithm is AlgorithmBasic or AlgorithmDerived; empty means basic.
	Algorithm string
	// Region and Service make the scope of a derived signature. An empty
	// Service means DefaultService.
	Region  string
	Service string
}

// Sign adds X-Sdk-Date and Authorization to req for the given body bytes,
// which must be exactly what will be sent. Every header already on the
// request is signed except Content-Type, names containing "_", and
// Authorization; the Host is signed too.
func Sign(req *http.Request, body []byte, creds Credentials, now time.Time) error {
	if creds.AccessKey == "" || creds.SecretKey == "" {
		return errors.New("signer: access key and secret key are required")
	}
	req.Header.Set(HeaderDate, now.UTC().Format(DateFormat))
	req.Header.Del(HeaderAuthorization)
	auth, err := Authorization(req, body, creds, headersToSign(req))
	if err != nil {
		return err
	}
	req.Header.Set(HeaderAuthorization, auth)
	return nil
}

// Authorization computes the Authorization header value for req over the
// given signed headers (lower-case, sorted), reading the date from the
// request's X-Sdk-Date header. As a signer does, it takes the payload hash
// from an X-Sdk-Content-Sha256 header when the request has one, and hashes
// body otherwise; a verifier must not (see Verifier.Verify).
func Authorization(req *http.Request, body []byte, creds Credentials, signedHeaders []string) (string, error) {
	date := req.Header.Get(HeaderDate)
	if _, err := time.Parse(DateFormat, date); err != nil {
		return "", fmt.Errorf("signer: %s %q is not in the form yyyyMMddTHHmmssZ", HeaderDate, date)
	}
	return authorization(req, date, payloadHash(req, body), creds, signedHeaders)
}

// authorization computes the Authorization header value over the given
// payload hash.
func authorization(req *http.Request, date, payloadSHA256 string, creds Credentials, signedHeaders []string) (string, error) {
	canonical := CanonicalRequest(req, signedHeaders, payloadSHA256)
	headers := strings.Join(signedHeaders, ";")
	switch creds.algorithm() {
	case AlgorithmBasic:
		sig := hmacHex([]byte(creds.SecretKey), stringToSign(AlgorithmBasic, date, "", canonical))
		return fmt.Sprintf("%s Access=%s, SignedHeaders=%s, Signature=%s",
			AlgorithmBasic, creds.AccessKey, headers, sig), nil
	case AlgorithmDerived:
		if creds.Region == "" {
			return "", errors.New("signer: derived signing needs a region")
		}
		scope := date[:8] + "/" + creds.Region + "/" + creds.service()
		key, err := derivedKey(creds.AccessKey, creds.SecretKey, scope)
		if err != nil {
			return "", err
		}
		sig := hmacHex(key, stringToSign(AlgorithmDerived, date, scope, canonical))
		return fmt.Sprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
			AlgorithmDerived, creds.AccessKey, scope, headers, sig), nil
	default:
		return "", fmt.Errorf("signer: unknown algorithm %q (want %s or %s)", creds.Algorithm, AlgorithmBasic, AlgorithmDerived)
	}
}

func (c Credentials) algorithm() string {
	if c.Algorithm == "" {
		return AlgorithmBasic
	}
	return c.Algorithm
}

func (c Credentials) service() string {
	if c.Service == "" {
		return DefaultService
	}
	return c.Service
}

// headersToSign lists the lower-case names of the headers Sign covers.
func headersToSign(req *http.Request) []string {
	names := []string{"host"}
	for name := range req.Header {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "content-type") || strings.Contains(lower, "_") ||
			lower == "authorization" || lower == "host" {
			continue
		}
		names = append(names, lower)
	}
	sort.Strings(names)
	return names
}

// CanonicalRequest builds the canonical form of req over the named
// (lower-case, sorted) headers and the hex SHA-256 of the body.
func CanonicalRequest(req *http.Request, signedHeaders []string, bodySHA256 string) string {
	var b strings.Builder
	b.WriteString(req.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(req.URL))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(req.URL))
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(strings.TrimSpace(headerValue(req, name)))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(bodySHA256)
	return b.String()
}

func headerValue(req *http.Request, name string) string {
	if name == "host" {
		if req.Host != "" {
			return req.Host
		}
		return req.URL.Host
	}
	return strings.Join(req.Header.Values(name), ",")
}

func canonicalURI(u *url.URL) string {
	segments := strings.Split(u.Path, "/")
	for i, s := range segments {
		segments[i] = escape(s)
	}
	path := strings.Join(segments, "/")
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	return path
}

// ParseQuery parses a raw query string the way the canonical request reads
// it: pairs are separated by "&" only (a ";" is part of a key or value),
// keys and values are unescaped as in a form ("+" is a space). Unlike
// url.ParseQuery, which refuses a ";", every pair it accepts is in the
// canonical query, so a server that reads its parameters with ParseQuery
// acts only on signed ones. It fails on an invalid escape, which the
// canonical query keeps escaped as it came.
func ParseQuery(raw string) (url.Values, error) {
	return parseQuery(raw, true)
}

// parseQueryLenient is ParseQuery that keeps a part it cannot unescape as
// it came, so that every byte of the query is covered by a signature.
func parseQueryLenient(raw string) url.Values {
	values, _ := parseQuery(raw, false) // never fails when not strict
	return values
}

// parseQuery is ParseQuery, or parseQueryLenient when not strict.
func parseQuery(raw string, strict bool) (url.Values, error) {
	values := url.Values{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			if strict {
				return nil, fmt.Errorf("query parameter %q: %w", k, err)
			}
			key = k
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			if strict {
				return nil, fmt.Errorf("value of query parameter %q: %w", key, err)
			}
			value = v
		}
		values[key] = append(values[key], value)
	}
	return values, nil
}

func canonicalQuery(u *url.URL) string {
	query := parseQueryLenient(u.RawQuery)
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		values := append([]string(nil), query[k]...)
		sort.Strings(values)
		for _, v := range values {
			parts = append(parts, escape(k)+"="+escape(v))
		}
	}
	return strings.Join(parts, "&")
}

// escape percent-encodes every byte outside A-Za-z0-9_-~. in upper-case hex.
func escape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '_' || c == '-' || c == '~' || c == '.' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// UnsignedPayload is the X-Sdk-Content-Sha256 value of a request whose body
// is not covered by its signature.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// payloadHash is the body hash a signer uses: X-Sdk-Content-Sha256 when the
// request has it, else the hash of body.
func payloadHash(req *http.Request, body []byte) string {
	if v := req.Header.Get(HeaderContentSHA256); v != "" {
		return v
	}
	return bodySHA256(body)
}

func bodySHA256(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

func stringToSign(algorithm, date, scope, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	if scope == "" {
		return algorithm + "\n" + date + "\n" + hex.EncodeToString(sum[:])
	}
	return algorithm + "\n" + date + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

func derivedKey(accessKey, secretKey, scope string) ([]byte, error) {
	derived, err := hkdf.Key(sha256.New, []byte(secretKey), []byte(accessKey), scope, 32)
	if err != nil {
		return nil, fmt.Errorf("signer: deriving the signing key: %w", err)
	}
	return []byte(hex.EncodeToString(derived)), nil
}

func hmacHex(key []byte, msg string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msg))
	return hex.EncodeToString(mac.Sum(nil))
}
