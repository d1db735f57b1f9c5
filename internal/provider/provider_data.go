package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// clientFrom takes the client out of the provider data handed to Configure.
// It returns nil before the provider is configured, and adds an error when
// the data is of the wrong type.
func clientFrom(data any, diags *diag.Diagnostics) *iotda.Client {
	if pd := providerDataFrom(data, diags); pd != nil {
		return pd.client
	}
	return nil
}

func providerDataFrom(data any, diags *diag.Diagnostics) *providerData {
	if data == nil {
		return nil
	}
	pd, ok := data.(*providerData)
	if !ok {
		diags.AddError("Unexpected Provider Data",
			fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider; please report it.", data))
		return nil
	}
	return pd
}
