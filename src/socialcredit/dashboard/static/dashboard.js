// Draws every figure of the page with Plotly (served from the package: nothing is fetched from the
// network). The figures are in a JSON script element, {id: {data, layout}}, one per div.plot.
(function () {
  var holder = document.getElementById("figures");
  if (!holder || typeof Plotly === "undefined") { return; }
  var figures = JSON.parse(holder.textContent);
  Object.keys(figures).forEach(function (id) {
    var element = document.getElementById(id);
    if (element) {
      Plotly.newPlot(element, figures[id].data, figures[id].layout,
                     {responsive: true, displaylogo: false});
    }
  });
}());
