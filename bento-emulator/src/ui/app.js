// Live updates: every second, ask whether anything changed; when it did,
// fetch this page again and swap in its <main>. No framework, no build step.
(function () {
  var main = document.querySelector("main[data-live]");
  if (!main) { return; }
  var seen = main.getAttribute("data-version");
  function poll() {
    fetch("/__emulator/ui/version", { cache: "no-store" })
      .then(function (r) { return r.text(); })
      .then(function (version) {
        if (version.trim() === seen) { return; }
        return fetch(location.href, { cache: "no-store" })
          .then(function (r) { return r.text(); })
          .then(function (html) {
            var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
            if (!fresh) { return; }
            var focused = document.activeElement && document.activeElement.name;
            main.innerHTML = fresh.innerHTML;
            seen = fresh.getAttribute("data-version");
            main.setAttribute("data-version", seen);
            if (focused) {
              var again = main.querySelector('[name="' + focused + '"]');
              if (again) { again.focus(); }
            }
          });
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, 1000); });
  }
  setTimeout(poll, 1000);
})();
