package mock

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// apiPrefix is the path every operation lives under: /v5/iot/{project_id}.
const apiPrefix = "/v5/iot/{project_id}"

// A route is one API operation: how requests reach it and its handler.
// Adding an API object is adding its rows here and their handlers.
type route struct {
	op     Operation
	method string
	// pattern is the path under apiPrefix; a segment "{name}" matches any
	// non-empty segment, which the handler reads in request.params.
	pattern string
	// jsonBody says the operation reads a JSON body, so a request that
	// sends one must say Content-Type: application/json.
	jsonBody bool
	handle   func(s *Server, req request) (status int, out any, e *Error)
}

// routes is the API, in the order of the reference.
var routes = []route{
	{OpCreate, http.MethodPost, "/device-policies", true, (*Server).handleCreate},
	{OpUpdate, http.MethodPut, "/device-policies/{policy_id}", true, (*Server).handleUpdate},
	{OpShow, http.MethodGet, "/device-policies/{policy_id}", false, (*Server).handleShow},
	{OpDelete, http.MethodDelete, "/device-policies/{policy_id}", false, (*Server).handleDelete},
	{OpList, http.MethodGet, "/device-policies", false, (*Server).handleList},
	{OpBind, http.MethodPost, "/device-policies/{policy_id}/bind", true, (*Server).handleBind},
	{OpUnbind, http.MethodPost, "/device-policies/{policy_id}/unbind", true, (*Server).handleUnbind},
	{OpListTargets, http.MethodPost, "/device-policies/{policy_id}/list-targets", true, (*Server).handleListTargets},
}

// request is what a handler gets: a routed, authenticated request.
type request struct {
	instanceID string
	params     map[string]string
	r          *http.Request
	body       []byte
}

// routed is where a request goes: a route and its parameters, or err for
// an unknown path or method (with allow, the methods of a known path).
type routed struct {
	*route
	params map[string]string
	err    *Error
	allow  string
}

func notFoundPath() *Error {
	return &Error{Status: http.StatusNotFound, Code: "APIGW.0101", Msg: "The API does not exist or has not been published in the environment."}
}

// match matches a path against apiPrefix+pattern and returns the
// parameters; a parameter segment must not be empty.
func match(pattern, path string) (map[string]string, bool) {
	want := strings.Split(strings.TrimPrefix(apiPrefix+pattern, "/"), "/")
	got := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(got) != len(want) {
		return nil, false
	}
	params := map[string]string{}
	for i, w := range want {
		if name, ok := strings.CutPrefix(w, "{"); ok {
			if got[i] == "" {
				return nil, false
			}
			params[strings.TrimSuffix(name, "}")] = got[i]
		} else if got[i] != w {
			return nil, false
		}
	}
	return params, true
}

// routeRequest finds the route of a request; the path is the decoded one.
func routeRequest(method, path string) routed {
	var allowed []string
	for i := range routes {
		rt := &routes[i]
		params, ok := match(rt.pattern, path)
		if !ok {
			continue
		}
		if rt.method == method {
			return routed{route: rt, params: params}
		}
		allowed = append(allowed, rt.method)
	}
	if len(allowed) == 0 {
		return routed{err: notFoundPath()}
	}
	slices.Sort(allowed)
	allow := strings.Join(allowed, ", ")
	return routed{allow: allow, err: &Error{Status: http.StatusMethodNotAllowed, Code: "APIGW.0101",
		Msg: fmt.Sprintf("The API does not exist or has not been published in the environment: method %s is not allowed here (allowed: %s).", quote(method), allow)}}
}
