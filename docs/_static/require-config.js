// The Jupyter widget manager (embed-amd.js) loads its modules and icon fonts through require.js,
// relative to require's baseUrl. Point it at _static/npm/ (shipped with the site, copied from
// npm at build time) whatever folder the page is in; nothing is fetched from a CDN.
(function () {
  var src = document.currentScript.src;
  require.config({ baseUrl: src.substring(0, src.lastIndexOf("/") + 1) + "npm/" });
})();
