package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// clientFrom takes the client out of the data Configure hands to every
// resource and data source. It returns nil before the provider is
// configured, and adds an error when the data is of the wrong type.
func clientFrom(data any, diags *diag.Diagnostics) *iotda.Client {
	if data == nil {
		return nil
	}
	client, ok := data.(*iotda.Client)
	if !ok {
		diags.AddError("Unexpected Provider Data",
			fmt.Sprintf("Expected *iotda.Client, got %T. This is a bug in the provider; please report it.", data))
		return nil
	}
	return client
}
