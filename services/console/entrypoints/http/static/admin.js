// Administration pages: confirmations before disabling or revoking, copying a new token, and the
// password field shown only for people (service accounts have none).
(function () {
  "use strict";

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const field = document.querySelector(button.dataset.copy);
    if (!field) return;
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
    } catch (_) {
      document.execCommand("copy"); // older browsers, or a page not served over https
    }
    const label = button.textContent;
    button.textContent = button.dataset.copied || label;
    setTimeout(() => { button.textContent = label; }, 2000);
  });

  function showPassword() {
    const chosen = document.querySelector("input[data-kind]:checked");
    const box = document.querySelector("[data-password-field]");
    if (!chosen || !box) return;
    const person = chosen.value !== "service";
    box.hidden = !person;
    const input = box.querySelector("input");
    if (input) input.required = person;
  }
  document.addEventListener("change", (event) => {
    if (event.target.matches("input[data-kind]")) showPassword();
  });
  document.addEventListener("DOMContentLoaded", () => {
    showPassword();
    // The page showing a new token answered a POST: reloading it must not create another token.
    if (document.querySelector("[data-token-created]")) history.replaceState(null, "", "/admin/tokens");
  });
})();
