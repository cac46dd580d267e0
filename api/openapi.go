package api

import (
	_ "embed"
	"net/http"
)

// openAPI is the API's OpenAPI 3.0 document, AML's door (POST /)
// included; openapi_test.go validates it with kin-openapi and checks it
// against the route table and the door.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	writeRaw(w, http.StatusOK, openAPI)
}
