/* global window, fetch, SwaggerUIBundle, SwaggerUIStandalonePreset -- the browser's, and swagger-ui-dist's scripts loaded before this one */
// The API reference: each public service's own /openapi.json (generated from the zod schemas
// its routes validate with), listed in /api/docs/documents.json; the edge serves each one as
// /api/docs/<service>.json.
fetch('/api/docs/documents.json')
  .then((answer) => answer.json())
  .then((urls) => {
    window.ui = SwaggerUIBundle({
      urls,
      dom_id: '#reference',
      deepLinking: true,
      // Nothing leaves for swagger.io: the documents are checked by the contract tests instead.
      validatorUrl: null,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: 'StandaloneLayout',
    });
  });
