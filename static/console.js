// Picking an autocomplete suggestion fills its field and closes the list; keyboard users press Enter on it.
document.addEventListener("click", (event) => {
  const pick = event.target.closest("[data-pick]");
  if (!pick) return;
  const input = document.getElementById(pick.dataset.target);
  input.value = pick.dataset.pick;
  input.dispatchEvent(new Event("change", { bubbles: true }));
  pick.closest(".suggestions").innerHTML = "";
  input.focus();
});
