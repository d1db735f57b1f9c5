package iotda

// Internals the external tests use.
type (
	BindRequest          = bindRequest
	ListPoliciesResponse = listPoliciesResponse
)

var (
	SameStatements     = sameStatements
	RegionFromEndpoint = regionFromEndpoint
)
